/**
 * The cache port: string keys and values with optional TTL. Adapters: an
 * in-memory LRU (`memory:`) and Redis (`redis://…`). Every key is prefixed
 * with the adapter's prefix so tests and tenants can share one server.
 * Implementation lives in ./cache/.
 */
export interface SetOptions {
  /** Time to live in milliseconds; without it the key does not expire. */
  ttlMs?: number;
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
  ping(): Promise<void>;
  close(): Promise<void>;
}

export { openCache } from './cache/open.ts';
