import { createHash } from 'node:crypto';
import type { Cache } from '@wavecast/kit/cache';

/**
 * Public video listings (`GET /v1/videos`: the same answer for everyone who
 * asks the same question) as serialised JSON in the cache port, shared by all
 * gateways, for a few seconds: the front page and popular searches are read
 * far more often than they change, and a listing costs the catalog a query.
 * A change (a new, edited or deleted video) shows once the entry expires,
 * within `ttlSeconds`, which is also what HTTP caches are told (max-age).
 * Concurrent misses of one listing in this process make one catalog call.
 */
export class ListingCache {
  readonly #cache: Cache;
  readonly #ttlMs: number;
  readonly #inFlight = new Map<string, Promise<string>>();

  constructor(cache: Cache, ttlSeconds: number) {
    this.#cache = cache;
    this.#ttlMs = ttlSeconds * 1000;
  }

  get ttlSeconds(): number {
    return this.#ttlMs / 1000;
  }

  /** The cached JSON of `question`, or `load()`'s, which is then cached. */
  async get(question: Record<string, string | number>, load: () => Promise<string>): Promise<string> {
    if (this.#ttlMs === 0) return load();
    const key = listingKey(question);
    const cached = await this.#cache.get(key);
    if (cached !== null) return cached;
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = load().then(async (json) => {
        await this.#cache.set(key, json, { ttlMs: this.#ttlMs });
        return json;
      });
      const done = () => this.#inFlight.delete(key);
      pending.then(done, done);
      this.#inFlight.set(key, pending);
    }
    return pending;
  }
}

/** A bounded key whatever the search text: a digest of the normalised question. */
export function listingKey(question: Record<string, string | number>): string {
  const canonical = JSON.stringify(
    Object.keys(question)
      .sort()
      .map((k) => [k, question[k]]),
  );
  return `gw:videos:list:${createHash('sha256').update(canonical).digest('base64url')}`;
}
