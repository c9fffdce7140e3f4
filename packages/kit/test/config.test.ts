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

describe('env.key32', () => {
  const key = Buffer.alloc(32, 7);
  it('takes 32 bytes in either base64 alphabet, and masks them', () => {
    const spec32 = { key: env.key32('KEY', { required: true }) };
    expect(loadConfig(spec32, { KEY: key.toString('base64') }).key.equals(key)).toBe(true);
    expect(loadConfig(spec32, { KEY: ` ${key.toString('base64url')} ` }).key.equals(key)).toBe(true);
    expect(describeConfig(spec32, loadConfig(spec32, { KEY: key.toString('base64') })).KEY).toBe('***');
  });
  it('refuses other lengths, and a missing key only when required', () => {
    expect(() => loadConfig({ k: env.key32('KEY', { required: true }) }, {})).toThrow(/KEY is required/);
    expect(() =>
      loadConfig({ k: env.key32('KEY', { required: false }) }, { KEY: Buffer.alloc(16).toString('base64') }),
    ).toThrow(/KEY must be 32 bytes in base64/);
    expect(loadConfig({ k: env.key32('KEY', { required: false }) }, {}).k).toBeUndefined();
  });
});
