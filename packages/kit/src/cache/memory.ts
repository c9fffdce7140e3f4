/**
 * The in-process cache adapter (`memory:`): an LRU with per-entry TTL. Single
 * process only; each `openCache('memory:')` is its own store. All operations
 * are synchronous underneath, which is what makes `increment` atomic here.
 */
import { LRUCache } from 'lru-cache';
import type { Cache, SetOptions } from '../cache.ts';
import { AppError } from '../errors.ts';
import { notAnInteger, stepOf, ttlOf } from './rules.ts';

const INTEGER = /^-?\d+$/;

export class MemoryCache implements Cache {
  readonly kind = 'memory' as const;
  readonly #lru: LRUCache<string, string>;
  readonly #prefix: string;
  #closed = false;

  constructor(opts: { prefix: string; maxEntries: number }) {
    this.#prefix = opts.prefix;
    this.#lru = new LRUCache({ max: opts.maxEntries });
  }

  async get(key: string): Promise<string | null> {
    return this.#store().get(this.#prefix + key) ?? null;
  }

  async getMany(keys: string[]): Promise<(string | null)[]> {
    const lru = this.#store();
    return keys.map((key) => lru.get(this.#prefix + key) ?? null);
  }

  async set(key: string, value: string, opts?: SetOptions): Promise<void> {
    const ttl = ttlOf(opts);
    // Like Redis SET, a plain set clears any previous TTL (ttl 0 = never expires).
    this.#store().set(this.#prefix + key, value, { ttl: ttl ?? 0 });
  }

  async setIfAbsent(key: string, value: string, opts?: SetOptions): Promise<boolean> {
    const ttl = ttlOf(opts);
    const lru = this.#store();
    if (lru.has(this.#prefix + key)) return false;
    lru.set(this.#prefix + key, value, { ttl: ttl ?? 0 });
    return true;
  }

  async delete(key: string): Promise<void> {
    this.#store().delete(this.#prefix + key);
  }

  async increment(key: string, opts?: SetOptions & { by?: number }): Promise<number> {
    const ttl = ttlOf(opts);
    const by = stepOf(opts?.by);
    const lru = this.#store();
    const full = this.#prefix + key;
    const current = lru.get(full);
    if (current === undefined) {
      lru.set(full, String(by), { ttl: ttl ?? 0 });
      return by;
    }
    if (!INTEGER.test(current)) throw notAnInteger(key);
    const next = Number(current) + by;
    // An existing key keeps its TTL, as with Redis INCRBY.
    lru.set(full, String(next), { noUpdateTTL: true });
    return next;
  }

  async ttl(key: string): Promise<number | null> {
    const lru = this.#store();
    const full = this.#prefix + key;
    if (!lru.has(full)) return null;
    const remaining = lru.getRemainingTTL(full);
    return Number.isFinite(remaining) ? Math.max(0, Math.ceil(remaining)) : null;
  }

  async ping(): Promise<void> {
    this.#store();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#lru.clear();
  }

  #store(): LRUCache<string, string> {
    if (this.#closed) throw new AppError('unavailable', 'cache is closed');
    return this.#lru;
  }
}
