/**
 * The in-process cache adapter (`memory:`): an LRU with per-entry TTL. Single
 * process only; each `openCache('memory:')` is its own store. All operations
 * are synchronous underneath, which is what makes `increment` atomic here.
 * Sorted sets live beside the LRU (never evicted, like a Redis key without
 * TTL), and a key is either a string or a sorted set, as in Redis.
 */
import { LRUCache } from 'lru-cache';
import type { Cache, SetOptions, SortedMember, SortedRangeOptions } from '../cache.ts';
import { AppError } from '../errors.ts';
import { notAnInteger, scoreOf, stepOf, ttlOf, windowOf, wrongKind } from './rules.ts';

const INTEGER = /^-?\d+$/;

export class MemoryCache implements Cache {
  readonly kind = 'memory' as const;
  readonly #lru: LRUCache<string, string>;
  /** Sorted sets: full key -> member -> score. An emptied set is removed, as Redis does. */
  readonly #sorted = new Map<string, Map<string, number>>();
  readonly #prefix: string;
  #closed = false;

  constructor(opts: { prefix: string; maxEntries: number }) {
    this.#prefix = opts.prefix;
    this.#lru = new LRUCache({ max: opts.maxEntries });
  }

  async get(key: string): Promise<string | null> {
    const lru = this.#store();
    if (this.#sorted.has(this.#prefix + key)) throw wrongKind(key);
    return lru.get(this.#prefix + key) ?? null;
  }

  async getMany(keys: string[]): Promise<(string | null)[]> {
    const lru = this.#store();
    // Like MGET: a key of another kind reads as absent.
    return keys.map((key) => lru.get(this.#prefix + key) ?? null);
  }

  async set(key: string, value: string, opts?: SetOptions): Promise<void> {
    const ttl = ttlOf(opts);
    const lru = this.#store();
    // Like Redis SET: replaces a value of any kind, and clears any previous TTL (ttl 0 = never expires).
    this.#sorted.delete(this.#prefix + key);
    lru.set(this.#prefix + key, value, { ttl: ttl ?? 0 });
  }

  async setIfAbsent(key: string, value: string, opts?: SetOptions): Promise<boolean> {
    const ttl = ttlOf(opts);
    const lru = this.#store();
    const full = this.#prefix + key;
    if (lru.has(full) || this.#sorted.has(full)) return false;
    lru.set(full, value, { ttl: ttl ?? 0 });
    return true;
  }

  async delete(key: string): Promise<void> {
    this.#store().delete(this.#prefix + key);
    this.#sorted.delete(this.#prefix + key);
  }

  async increment(key: string, opts?: SetOptions & { by?: number }): Promise<number> {
    const ttl = ttlOf(opts);
    const by = stepOf(opts?.by);
    const lru = this.#store();
    const full = this.#prefix + key;
    if (this.#sorted.has(full)) throw wrongKind(key);
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

  async sortedAdd(key: string, member: string, score: number): Promise<void> {
    const checked = scoreOf(score);
    const set = this.#set(key);
    if (set) set.set(member, checked);
    else this.#sorted.set(this.#prefix + key, new Map([[member, checked]]));
  }

  async sortedRemove(key: string, member: string): Promise<void> {
    const set = this.#set(key);
    if (!set) return;
    set.delete(member);
    if (set.size === 0) this.#sorted.delete(this.#prefix + key);
  }

  async sortedRange(key: string, opts?: SortedRangeOptions): Promise<SortedMember[]> {
    const { offset, limit } = windowOf(opts);
    const set = this.#set(key);
    if (!set || limit === 0) return [];
    const sign = opts?.reverse ? -1 : 1;
    // Score, then member in code-unit order: Redis's byte order for the ASCII ids used as members.
    const ordered = [...set]
      .map(([member, score]) => ({ member, score }))
      .sort((a, b) => sign * (a.score - b.score || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0)));
    return ordered.slice(offset, limit === undefined ? undefined : offset + limit);
  }

  async sortedCount(key: string): Promise<number> {
    return this.#set(key)?.size ?? 0;
  }

  async ping(): Promise<void> {
    this.#store();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#lru.clear();
    this.#sorted.clear();
  }

  /** The sorted set at `key`, undefined when absent; refuses a key holding a string. */
  #set(key: string): Map<string, number> | undefined {
    const lru = this.#store();
    const full = this.#prefix + key;
    if (lru.has(full)) throw wrongKind(key);
    return this.#sorted.get(full);
  }

  #store(): LRUCache<string, string> {
    if (this.#closed) throw new AppError('unavailable', 'cache is closed');
    return this.#lru;
  }
}
