/**
 * Cache test fixtures: a unique key prefix per test on the shared Redis, a
 * cleanup that deletes exactly that prefix.
 */
import { Redis } from 'ioredis';
import { ulid } from '../../src/ids.ts';

export const REDIS_URL = process.env.WAVECAST_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other test (or concurrent run) uses, e.g. `t:cache:01jd…:`. */
export function uniquePrefix(tag: string): string {
  return `t:${tag}:${ulid().toLowerCase()}:`;
}

/** Deletes every key under `prefix`; returns how many. SCAN, not KEYS, so a busy server is not blocked. */
export async function deleteRedisKeys(prefix: string, url = REDIS_URL): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
  return deleted;
}
