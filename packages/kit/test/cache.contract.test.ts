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
