/**
 * The cache contract, run against every adapter: both must behave the same
 * for every caller. Redis-only behaviour (prefixing, outages) is in
 * cache.redis.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Cache, openCache } from '../src/cache.ts';
import { deleteRedisKeys, REDIS_URL, uniquePrefix } from './support/cache.ts';

type OpenCache = (prefix: string) => Promise<Cache>;

function describeCacheContract(name: string, open: OpenCache, cleanup: (prefix: string) => Promise<unknown>) {
  describe(`cache contract: ${name}`, () => {
    const opened: Cache[] = [];
    const prefixes: string[] = [];

    async function fresh(): Promise<Cache> {
      const prefix = uniquePrefix('cache');
      prefixes.push(prefix);
      const cache = await open(prefix);
      opened.push(cache);
      return cache;
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((cache) => cache.close()));
      await Promise.all(prefixes.splice(0).map((prefix) => cleanup(prefix)));
    });

    it('gets, sets and deletes', async () => {
      const cache = await fresh();
      expect(await cache.get('a')).toBeNull();
      await cache.set('a', 'one');
      expect(await cache.get('a')).toBe('one');
      await cache.set('a', 'two');
      expect(await cache.get('a')).toBe('two');
      await cache.delete('a');
      expect(await cache.get('a')).toBeNull();
      await cache.delete('never-set');
      await cache.ping();
    });

    it('gets many keys in order, null for the missing ones', async () => {
      const cache = await fresh();
      await cache.set('x', '1');
      await cache.set('z', '3');
      expect(await cache.getMany(['x', 'y', 'z'])).toEqual(['1', null, '3']);
      expect(await cache.getMany([])).toEqual([]);
    });

    it('expires keys after their TTL, and a plain set clears the TTL', async () => {
      const cache = await fresh();
      await cache.set('short', 'v', { ttlMs: 150 });
      const ttl = await cache.ttl('short');
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(150);
      await vi.waitFor(async () => expect(await cache.get('short')).toBeNull(), {
        timeout: 3_000,
        interval: 20,
      });
      expect(await cache.ttl('short')).toBeNull();

      await cache.set('kept', 'v', { ttlMs: 60_000 });
      await cache.set('kept', 'w');
      expect(await cache.ttl('kept')).toBeNull();
      expect(await cache.ttl('absent')).toBeNull();
    });

    it('sets only absent keys with setIfAbsent', async () => {
      const cache = await fresh();
      expect(await cache.setIfAbsent('lock', 'first', { ttlMs: 150 })).toBe(true);
      expect(await cache.setIfAbsent('lock', 'second')).toBe(false);
      expect(await cache.get('lock')).toBe('first');
      await vi.waitFor(async () => expect(await cache.setIfAbsent('lock', 'third')).toBe(true), {
        timeout: 3_000,
        interval: 20,
      });
      expect(await cache.get('lock')).toBe('third');
      expect(await cache.ttl('lock')).toBeNull();
    });

    it('increments atomically under 200 concurrent calls', async () => {
      const cache = await fresh();
      const results = await Promise.all(Array.from({ length: 200 }, () => cache.increment('hits')));
      expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(await cache.get('hits')).toBe('200');
      expect(await cache.increment('hits', { by: -50 })).toBe(150);
    });

    it('sets the TTL only when increment creates the key', async () => {
      const cache = await fresh();
      expect(await cache.increment('window', { ttlMs: 60_000, by: 5 })).toBe(5);
      const first = await cache.ttl('window');
      expect(first).toBeGreaterThan(50_000);
      expect(await cache.increment('window', { ttlMs: 600_000 })).toBe(6);
      expect(await cache.ttl('window')).toBeLessThanOrEqual(first ?? 0);

      await cache.set('plain', '10');
      expect(await cache.increment('plain', { ttlMs: 60_000 })).toBe(11);
      expect(await cache.ttl('plain')).toBeNull();
    });

    it('rejects bad arguments and non-integer counters', async () => {
      const cache = await fresh();
      await expect(cache.set('k', 'v', { ttlMs: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect(cache.increment('k', { by: 1.5 })).rejects.toMatchObject({ code: 'invalid_argument' });
      await cache.set('word', 'hello');
      await expect(cache.increment('word')).rejects.toMatchObject({ code: 'failed_precondition' });
    });

    it('isolates two caches with different prefixes', async () => {
      const a = await fresh();
      const b = await fresh();
      await a.set('shared', 'from-a');
      expect(await b.get('shared')).toBeNull();
      await b.set('shared', 'from-b');
      expect(await a.get('shared')).toBe('from-a');
      await a.delete('shared');
      expect(await b.get('shared')).toBe('from-b');
    });

    it('keeps sorted sets in score order, ties by member, both directions', async () => {
      const cache = await fresh();
      expect(await cache.sortedRange('board')).toEqual([]);
      expect(await cache.sortedCount('board')).toBe(0);
      await cache.sortedAdd('board', 'chn_b', 5);
      await cache.sortedAdd('board', 'chn_a', 5);
      await cache.sortedAdd('board', 'chn_c', 12.5);
      await cache.sortedAdd('board', 'chn_d', -1);
      expect(await cache.sortedCount('board')).toBe(4);
      expect(await cache.sortedRange('board')).toEqual([
        { member: 'chn_d', score: -1 },
        { member: 'chn_a', score: 5 },
        { member: 'chn_b', score: 5 },
        { member: 'chn_c', score: 12.5 },
      ]);
      expect((await cache.sortedRange('board', { reverse: true })).map((m) => m.member)).toEqual([
        'chn_c',
        'chn_b',
        'chn_a',
        'chn_d',
      ]);
    });

    it('pages through a sorted set with offset and limit', async () => {
      const cache = await fresh();
      for (let i = 0; i < 7; i++) await cache.sortedAdd('page', `m${i}`, i * 10);
      const members = async (opts: { offset?: number; limit?: number; reverse?: boolean }) =>
        (await cache.sortedRange('page', opts)).map((m) => m.member);
      expect(await members({ offset: 0, limit: 3, reverse: true })).toEqual(['m6', 'm5', 'm4']);
      expect(await members({ offset: 3, limit: 3, reverse: true })).toEqual(['m3', 'm2', 'm1']);
      expect(await members({ offset: 6, limit: 3, reverse: true })).toEqual(['m0']);
      expect(await members({ offset: 9, limit: 3 })).toEqual([]);
      expect(await members({ offset: 2, limit: 2 })).toEqual(['m2', 'm3']);
      expect(await members({ offset: 5 })).toEqual(['m5', 'm6']);
      expect(await members({ limit: 0 })).toEqual([]);
    });

    it('moves a member on a new score and removes members; an emptied set is gone', async () => {
      const cache = await fresh();
      await cache.sortedAdd('s', 'x', 1);
      await cache.sortedAdd('s', 'y', 2);
      await cache.sortedAdd('s', 'x', 3);
      expect(await cache.sortedRange('s', { reverse: true })).toEqual([
        { member: 'x', score: 3 },
        { member: 'y', score: 2 },
      ]);
      await cache.sortedRemove('s', 'x');
      await cache.sortedRemove('s', 'never-added');
      await cache.sortedRemove('absent-set', 'x');
      expect(await cache.sortedCount('s')).toBe(1);
      await cache.sortedRemove('s', 'y');
      expect(await cache.sortedCount('s')).toBe(0);
      expect(await cache.setIfAbsent('s', 'now a string')).toBe(true);
    });

    it('deletes a sorted set with delete, and keeps strings and sorted sets apart', async () => {
      const cache = await fresh();
      await cache.sortedAdd('set', 'm', 1);
      expect(await cache.setIfAbsent('set', 'v')).toBe(false);
      expect(await cache.getMany(['set'])).toEqual([null]);
      await expect(cache.get('set')).rejects.toMatchObject({ code: 'failed_precondition' });
      await expect(cache.increment('set')).rejects.toMatchObject({ code: 'failed_precondition' });
      await cache.delete('set');
      expect(await cache.sortedCount('set')).toBe(0);

      await cache.set('str', 'v');
      await expect(cache.sortedAdd('str', 'm', 1)).rejects.toMatchObject({ code: 'failed_precondition' });
      await expect(cache.sortedRange('str')).rejects.toMatchObject({ code: 'failed_precondition' });
      await expect(cache.sortedCount('str')).rejects.toMatchObject({ code: 'failed_precondition' });
      // A plain set replaces a sorted set, as SET does.
      await cache.sortedAdd('swap', 'm', 1);
      await cache.set('swap', 'text');
      expect(await cache.get('swap')).toBe('text');
    });

    it('rejects bad sorted-set arguments', async () => {
      const cache = await fresh();
      await expect(cache.sortedAdd('s', 'm', Number.NaN)).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect(cache.sortedAdd('s', 'm', Number.POSITIVE_INFINITY)).rejects.toMatchObject({
        code: 'invalid_argument',
      });
      await expect(cache.sortedRange('s', { offset: -1 })).rejects.toMatchObject({
        code: 'invalid_argument',
      });
      await expect(cache.sortedRange('s', { limit: 1.5 })).rejects.toMatchObject({
        code: 'invalid_argument',
      });
    });

    it('isolates sorted sets by prefix', async () => {
      const a = await fresh();
      const b = await fresh();
      await a.sortedAdd('dir', 'only-a', 1);
      expect(await b.sortedCount('dir')).toBe(0);
      expect(await a.sortedRange('dir')).toEqual([{ member: 'only-a', score: 1 }]);
    });

    it('fails with unavailable after close; close is idempotent', async () => {
      const cache = await fresh();
      await cache.close();
      await cache.close();
      await expect(cache.get('a')).rejects.toMatchObject({ code: 'unavailable' });
    });
  });
}

describeCacheContract(
  'memory',
  (prefix) => openCache('memory:', { prefix }),
  async () => {},
);
describeCacheContract('redis', (prefix) => openCache(REDIS_URL, { prefix }), deleteRedisKeys);
