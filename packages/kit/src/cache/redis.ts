/**
 * The Redis cache adapter (`redis://…`). Commands fail fast while the
 * connection is down (no offline queue, one retry, a command timeout) so a
 * cache outage surfaces as AppError('unavailable') instead of hanging
 * requests; ioredis keeps reconnecting in the background.
 */
import { Redis } from 'ioredis';
import type { Cache, SetOptions, SortedMember, SortedRangeOptions } from '../cache.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { notAnInteger, scoreOf, stepOf, ttlOf, windowOf, wrongKind } from './rules.ts';

/** KEYS[1] key; ARGV[1] step, ARGV[2] ttl ms or 0. The TTL is set only when INCRBY created the key. */
const INCREMENT_LUA = `
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value`;

const CONNECT_TIMEOUT_MS = 3_000;
const COMMAND_TIMEOUT_MS = 5_000;

type IncrementingRedis = Redis & { wcIncrement(key: string, by: number, ttl: number): Promise<number> };

/** Connects eagerly; rejects with AppError('unavailable') when the server cannot be reached. */
export async function openRedisCache(url: string, opts: { prefix: string; logger?: Logger }): Promise<Cache> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 5_000),
  }) as IncrementingRedis;
  redis.defineCommand('wcIncrement', { lua: INCREMENT_LUA, numberOfKeys: 1 });

  let lastError: Error | undefined;
  let connected = false;
  // Without an 'error' listener ioredis prints every reconnect failure to stderr.
  redis.on('error', (err: Error) => {
    lastError = err;
    if (connected) opts.logger?.warn({ err: err.message }, 'redis cache connection error');
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    const reason = (lastError ?? (err as Error)).message;
    throw new AppError('unavailable', `Redis unreachable at ${where(url)}: ${reason}`, { cause: err });
  }
  connected = true;
  return new RedisCache(redis, opts.prefix);
}

/** host:port only: a URL may carry a password and must never reach an error message. */
function where(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '6379'}`;
}

class RedisCache implements Cache {
  readonly kind = 'redis' as const;
  readonly #redis: IncrementingRedis;
  readonly #prefix: string;
  #closed = false;

  constructor(redis: IncrementingRedis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async get(key: string): Promise<string | null> {
    return this.#run(() => this.#redis.get(this.#prefix + key), key);
  }

  async getMany(keys: string[]): Promise<(string | null)[]> {
    // MGET with no keys is a Redis syntax error.
    if (keys.length === 0) return [];
    return this.#run(() => this.#redis.mget(keys.map((key) => this.#prefix + key)));
  }

  async set(key: string, value: string, opts?: SetOptions): Promise<void> {
    const ttl = ttlOf(opts);
    const full = this.#prefix + key;
    await this.#run(() => (ttl ? this.#redis.set(full, value, 'PX', ttl) : this.#redis.set(full, value)));
  }

  async setIfAbsent(key: string, value: string, opts?: SetOptions): Promise<boolean> {
    const ttl = ttlOf(opts);
    const full = this.#prefix + key;
    const reply = await this.#run(() =>
      ttl ? this.#redis.set(full, value, 'PX', ttl, 'NX') : this.#redis.set(full, value, 'NX'),
    );
    return reply === 'OK';
  }

  async delete(key: string): Promise<void> {
    await this.#run(() => this.#redis.del(this.#prefix + key));
  }

  async increment(key: string, opts?: SetOptions & { by?: number }): Promise<number> {
    const ttl = ttlOf(opts) ?? 0;
    const by = stepOf(opts?.by);
    return this.#run(
      () =>
        this.#redis.wcIncrement(this.#prefix + key, by, ttl).catch((err: Error) => {
          throw /not an integer/.test(err.message) ? notAnInteger(key) : err;
        }),
      key,
    );
  }

  async ttl(key: string): Promise<number | null> {
    // PTTL: -2 when absent, -1 when the key never expires.
    const ms = await this.#run(() => this.#redis.pttl(this.#prefix + key));
    return ms < 0 ? null : ms;
  }

  async sortedAdd(key: string, member: string, score: number): Promise<void> {
    const checked = scoreOf(score);
    await this.#run(() => this.#redis.zadd(this.#prefix + key, String(checked), member), key);
  }

  async sortedRemove(key: string, member: string): Promise<void> {
    await this.#run(() => this.#redis.zrem(this.#prefix + key, member), key);
  }

  async sortedRange(key: string, opts?: SortedRangeOptions): Promise<SortedMember[]> {
    const { offset, limit } = windowOf(opts);
    // ZRANGE 0 -1 means "everything", so an empty window never reaches Redis.
    if (limit === 0) return [];
    // ioredis types the bounds as strings; Redis reads them the same either way.
    const [start, stop] = [String(offset), String(limit === undefined ? -1 : offset + limit - 1)];
    const full = this.#prefix + key;
    // ZREVRANGE rather than ZRANGE … REV: the same on every Redis version still in use.
    const flat = await this.#run(
      () =>
        opts?.reverse
          ? this.#redis.zrevrange(full, start, stop, 'WITHSCORES')
          : this.#redis.zrange(full, start, stop, 'WITHSCORES'),
      key,
    );
    const out: SortedMember[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ member: flat[i]!, score: Number(flat[i + 1]) });
    return out;
  }

  async sortedCount(key: string): Promise<number> {
    return this.#run(() => this.#redis.zcard(this.#prefix + key), key);
  }

  async ping(): Promise<void> {
    await this.#run(() => this.#redis.ping());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // QUIT fails fast when disconnected (no offline queue); then just drop the socket.
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /** Runs a command; `key` names the key in a WRONGTYPE error. */
  async #run<T>(command: () => Promise<T>, key?: string): Promise<T> {
    if (this.#closed) throw new AppError('unavailable', 'cache is closed');
    try {
      return await command();
    } catch (err) {
      throw toCacheError(err, key);
    }
  }
}

/** Redis replies (bad arguments) are bugs, except a key of another kind; everything else is an outage. */
function toCacheError(err: unknown, key: string | undefined): AppError {
  if (err instanceof AppError) return err;
  const error = err as Error;
  if (error?.name === 'ReplyError' && key !== undefined && error.message.includes('WRONGTYPE'))
    return wrongKind(key);
  if (error?.name === 'ReplyError')
    return new AppError('internal', `redis: ${error.message}`, { cause: err });
  return new AppError('unavailable', `cache unavailable: ${error?.message ?? String(err)}`, { cause: err });
}
