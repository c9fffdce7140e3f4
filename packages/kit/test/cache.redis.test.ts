/**
 * Redis-only cache behaviour: keys really carry the prefix, an unreachable
 * server fails fast with a clean message, and an outage after open fails
 * operations quickly instead of hanging, then heals.
 */
import { describe, expect, it, vi } from 'vitest';
import { openCache } from '../src/cache.ts';
import { AppError } from '../src/errors.ts';
import { deleteRedisKeys, REDIS_URL, uniquePrefix } from './support/cache.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';

describe('redis cache connection', () => {
  it('rejects unavailable, in one line without the password, when the server is unreachable', async () => {
    const err = await openCache('redis://:s3cret-pw@127.0.0.1:1').catch((e: unknown) => e);
    expect(AppError.is(err, 'unavailable')).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain('127.0.0.1:1');
    expect(message).not.toContain('s3cret-pw');
    expect(message).not.toContain('\n');
  });

  it('stores keys under the prefix', async () => {
    const prefix = uniquePrefix('cache');
    const cache = await openCache(REDIS_URL, { prefix });
    await cache.set('a', '1');
    await cache.set('b', '2');
    await cache.sortedAdd('c', 'member', 1);
    await cache.close();
    expect(await deleteRedisKeys(prefix)).toBe(3);
  });

  it('fails fast while disconnected and recovers when the server is back', async () => {
    const target = new URL(REDIS_URL);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
    const prefix = uniquePrefix('cache');
    const cache = await openCache(`redis://127.0.0.1:${proxy.port}${target.pathname}`, { prefix });
    try {
      await cache.set('k', 'v');
      await proxy.cut();
      const started = Date.now();
      await vi.waitFor(
        async () => expect(await cache.get('k').catch((e: AppError) => e.code)).toBe('unavailable'),
        {
          timeout: 5_000,
          interval: 20,
        },
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      await proxy.resume();
      await vi.waitFor(async () => expect(await cache.get('k').catch((e: AppError) => e.code)).toBe('v'), {
        timeout: 10_000,
        interval: 50,
      });
    } finally {
      await cache.close();
      await proxy.close();
      await deleteRedisKeys(prefix);
    }
  });
});
