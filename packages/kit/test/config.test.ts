import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, env, loadConfig } from '../src/config.ts';

const spec = {
  port: env.int('PORT', { default: 8080, min: 1, max: 65535 }),
  mode: env.oneOf('MODE', ['embedded', 'distributed'] as const, { default: 'embedded' }),
  secret: env.str('SECRET', { secret: true }),
  debug: env.bool('DEBUG', { default: false }),
  peers: env.list('PEERS', { default: [] }),
};

describe('loadConfig', () => {
  it('parses and freezes typed values', () => {
    const config = loadConfig(spec, { PORT: '9000', SECRET: 's3', DEBUG: 'yes', PEERS: 'a, b,,c' });
    expect(config).toEqual({
      port: 9000,
      mode: 'embedded',
      secret: 's3',
      debug: true,
      peers: ['a', 'b', 'c'],
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reports every invalid variable at once', () => {
    let error: unknown;
    try {
      loadConfig(spec, { PORT: 'eighty', MODE: 'cluster', DEBUG: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'PORT must be an integer, got "eighty"',
      'MODE must be one of embedded, distributed, got "cluster"',
      'SECRET is required',
      'DEBUG must be true or false, got "maybe"',
    ]);
  });

  it('rejects out-of-range numbers', () => {
    expect(() => loadConfig(spec, { PORT: '70000', SECRET: 'x' })).toThrow('PORT must be <= 65535');
  });

  it('masks secrets when described', () => {
    const config = loadConfig(spec, { SECRET: 'hunter2' });
    expect(describeConfig(spec, config)).toMatchObject({ SECRET: '***', PORT: 8080 });
  });
});
