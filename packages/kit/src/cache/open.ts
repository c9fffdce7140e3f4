import type { Cache } from '../cache.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { MemoryCache } from './memory.ts';
import { openRedisCache } from './redis.ts';

export interface CacheOptions {
  /** Prepended to every key, e.g. `catalog:`; lets tests and tenants share one server. */
  prefix?: string;
  /** `memory:` only: entries kept before the least recently used is evicted (default 100 000). */
  maxEntries?: number;
  logger?: Logger;
}

/**
 * Opens the cache named by `url`: `memory:` (in-process LRU) or
 * `redis://[:password@]host[:port][/db]` (also `rediss://`). Rejects with
 * AppError('unavailable') when Redis cannot be reached and
 * AppError('invalid_argument') for an unknown scheme.
 */
export async function openCache(url: string, opts: CacheOptions = {}): Promise<Cache> {
  // Never echo the URL itself: it may carry a password.
  if (!URL.canParse(url)) throw new AppError('invalid_argument', 'malformed cache URL');
  const prefix = opts.prefix ?? '';
  if (url.startsWith('memory:')) {
    const maxEntries = opts.maxEntries ?? 100_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new AppError(
        'invalid_argument',
        `cache maxEntries must be a positive integer, got ${maxEntries}`,
      );
    }
    return new MemoryCache({ prefix, maxEntries });
  }
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    return openRedisCache(url, { prefix, logger: opts.logger });
  }
  throw new AppError(
    'invalid_argument',
    `unsupported cache URL scheme: ${url.split(':')[0]}: (use memory: or redis://)`,
  );
}
