/**
 * The cache port: string keys and values with optional TTL, and sorted sets
 * (members ordered by a numeric score, e.g. a live directory). Adapters: an
 * in-memory LRU (`memory:`) and Redis (`redis://…`). Every key is prefixed
 * with the adapter's prefix so tests and tenants can share one server.
 * Implementation lives in ./cache/.
 */
export interface SetOptions {
  /** Time to live in milliseconds; without it the key does not expire. */
  ttlMs?: number;
}

export interface SortedMember {
  member: string;
  score: number;
}

export interface SortedRangeOptions {
  /** Members skipped from the start of the order (default 0). */
  offset?: number;
  /** At most this many members (default: all the rest). */
  limit?: number;
  /**
   * Highest score first. Ties are ordered by member (byte order), reversed
   * along with the scores, as Redis does.
   */
  reverse?: boolean;
}

export interface Cache {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  getMany(keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, opts?: SetOptions): Promise<void>;
  /** Sets only when the key is absent; true when this call set it. */
  setIfAbsent(key: string, value: string, opts?: SetOptions): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Atomically adds `by` (default 1); a new key starts at 0 and gets `ttlMs`. */
  increment(key: string, opts?: SetOptions & { by?: number }): Promise<number>;
  /** Remaining time to live in ms; null when the key is absent or never expires. */
  ttl(key: string): Promise<number | null>;
  /** Adds `member` to the sorted set at `key`, or moves it to `score` (ZADD). */
  sortedAdd(key: string, member: string, score: number): Promise<void>;
  /** Removes `member`; absent members and keys are fine (ZREM). */
  sortedRemove(key: string, member: string): Promise<void>;
  /** A window of the set in score order (ZRANGE … WITHSCORES); an absent key is empty. */
  sortedRange(key: string, opts?: SortedRangeOptions): Promise<SortedMember[]>;
  /** How many members the set has; 0 when absent (ZCARD). */
  sortedCount(key: string): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export { openCache } from './cache/open.ts';
