import { describe, expect, it } from 'vitest';
import { idTime, isId, newId, ulid } from '../src/ids.ts';

describe('ids', () => {
  it('are prefixed and 26 characters of Crockford base32', () => {
    const id = newId('usr');
    expect(id).toMatch(/^usr_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(isId(id, 'usr')).toBe(true);
    expect(isId(id, 'vid')).toBe(false);
    expect(isId('usr_../../etc', 'usr')).toBe(false);
  });

  it('sort by creation time, also within one millisecond', () => {
    const ids = Array.from({ length: 1000 }, () => ulid(1_700_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
    const early = ulid(1_600_000_000_000);
    const late = ulid(1_800_000_000_000);
    expect(early < late).toBe(true);
  });

  it('encode their creation time', () => {
    const now = Date.now();
    expect(Math.abs(idTime(newId('vid')).getTime() - now)).toBeLessThan(1000);
  });
});
