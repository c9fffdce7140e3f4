import { describe, expect, it } from 'vitest';
import { allInOneParts, loadAllInOneConfig } from '../src/all-in-one.ts';

describe('all-in-one configuration', () => {
  it('never gives one key to two different variables (one would silently win)', () => {
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    for (const [part, spec] of Object.entries(allInOneParts('./data'))) {
      for (const [key, field] of Object.entries(spec)) {
        const previous = owner.get(key);
        if (previous && previous !== field.variable)
          clashes.push(`${key}: ${previous} vs ${field.variable} (${part})`);
        owner.set(key, field.variable);
      }
    }
    expect(clashes).toEqual([]);
  });

  it('keeps the encoder ladder apart from the live ladder', () => {
    const config = loadAllInOneConfig({ LIVE_LADDER: '480:1000', ENCODER_LADDER: '720:2000,360:600' });
    expect(config.ladder).toBe('480:1000');
    expect(config.encoder.ladder).toEqual([
      { height: 720, videoKbps: 2000 },
      { height: 360, videoKbps: 600 },
    ]);
  });

  it('reports the invalid variables of every service at once', () => {
    expect(() => loadAllInOneConfig({ HTTP_PORT: 'x', ENCODER_SEGMENT_SECONDS: '0' })).toThrow(
      /HTTP_PORT must be an integer.*ENCODER_SEGMENT_SECONDS must be >= 1/,
    );
  });
});
