import type { Cache } from '@wavecast/kit/cache';

type Callback = (err: Error | null, result?: { current: number; ttl: number }) => void;

/**
 * A @fastify/rate-limit store on the cache port (Redis in production, so the
 * limit holds across gateway instances). Fixed windows: one counter per key
 * per window, so a request costs a single atomic increment.
 */
export function cacheRateLimitStore(cache: Cache) {
  return class CacheRateLimitStore {
    readonly #prefix: string;

    // At run time the plugin passes its merged options, with the route under `routeInfo`.
    constructor(options: object = {}) {
      const route = (options as { routeInfo?: { method?: string; url?: string } }).routeInfo;
      this.#prefix = route?.url ? `rl:${route.method}:${route.url}:` : 'rl:global:';
    }

    incr(key: string, cb: Callback, timeWindow: number): void {
      const now = Date.now();
      const window = Math.floor(now / timeWindow);
      const ttl = (window + 1) * timeWindow - now;
      cache.increment(`${this.#prefix}${key}:${window}`, { ttlMs: timeWindow }).then(
        (current) => cb(null, { current, ttl }),
        (err: Error) => cb(err),
      );
    }

    read(key: string, cb: Callback, timeWindow: number): void {
      const now = Date.now();
      const window = Math.floor(now / timeWindow);
      cache.get(`${this.#prefix}${key}:${window}`).then(
        (v) => cb(null, { current: Number(v ?? 0), ttl: (window + 1) * timeWindow - now }),
        (err: Error) => cb(err),
      );
    }

    child(routeOptions: object) {
      return new CacheRateLimitStore(routeOptions);
    }
  };
}
