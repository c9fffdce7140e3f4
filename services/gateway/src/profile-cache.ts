import { eventSchemas } from '@wavecast/contracts/events';
import type { Bus, Subscription } from '@wavecast/kit/bus';
import type { Cache } from '@wavecast/kit/cache';
import { typedEvents } from '@wavecast/kit/events';
import { LRUCache } from 'lru-cache';

const byId = (id: string) => `gw:profile:id:${id}`;
const byName = (username: string) => `gw:profile:name:${username.toLowerCase()}`;

/** How long this process keeps a profile it read from the shared cache, at most. */
export const NEAR_SECONDS = 2;
/** Profiles this process keeps, at most (about 300 bytes each). */
export const NEAR_ENTRIES = 10_000;

/**
 * Public profiles as serialised JSON in the cache port, so the hot read path
 * (`GET /v1/users/{id}`) is a cache hit instead of an RPC. Entries expire
 * after a TTL and are dropped as soon as the users service reports a change.
 *
 * In front of the shared cache sits a near cache in this process, read
 * synchronously: a popular profile costs no round trip to Redis (and, in the
 * all-in-one process, no promise) for a couple of seconds. The change events
 * go to one gateway of the group, so another gateway may answer from its near
 * copy for up to NEAR_SECONDS after a change: less than the 10 s the
 * response's Cache-Control already lets any HTTP cache keep it.
 */
export class ProfileCache {
  readonly #cache: Cache;
  readonly #ttlMs: number;
  readonly #near: LRUCache<string, string> | undefined;

  constructor(cache: Cache, ttlSeconds: number, near = { seconds: NEAR_SECONDS, entries: NEAR_ENTRIES }) {
    this.#cache = cache;
    this.#ttlMs = ttlSeconds * 1000;
    const nearMs = Math.min(this.#ttlMs, near.seconds * 1000);
    this.#near = nearMs > 0 ? new LRUCache({ max: near.entries, ttl: nearMs }) : undefined;
  }

  key(idOrUsername: string): string {
    return idOrUsername.startsWith('usr_') ? byId(idOrUsername) : byName(idOrUsername);
  }

  /** The profile from this process's near cache, without waiting; undefined when it has none. */
  peek(idOrUsername: string): string | undefined {
    return this.#near?.get(this.key(idOrUsername));
  }

  async get(idOrUsername: string): Promise<string | null> {
    if (this.#ttlMs === 0) return null;
    const key = this.key(idOrUsername);
    const json = await this.#cache.get(key);
    if (json !== null) this.#near?.set(key, json);
    return json;
  }

  async put(user: { id: string; username: string }, json: string): Promise<void> {
    if (this.#ttlMs === 0) return;
    this.#near?.set(byId(user.id), json);
    this.#near?.set(byName(user.username), json);
    await Promise.all([
      this.#cache.set(byId(user.id), json, { ttlMs: this.#ttlMs }),
      this.#cache.set(byName(user.username), json, { ttlMs: this.#ttlMs }),
    ]);
  }

  async drop(userId: string, username: string): Promise<void> {
    this.#near?.delete(byId(userId));
    this.#near?.delete(byName(username));
    await Promise.all([this.#cache.delete(byId(userId)), this.#cache.delete(byName(username))]);
  }

  /** Drops entries when users change. One group: the cache is shared by all gateways. */
  subscribe(bus: Bus): Promise<Subscription> {
    const drop = async (e: { user_id: string; username: string }) => this.drop(e.user_id, e.username);
    return typedEvents(bus, eventSchemas).subscribe('gateway.profiles', {
      'user.updated.v1': drop,
      'user.banned.v1': drop,
      'user.unbanned.v1': drop,
      'user.deleted.v1': drop,
    });
  }
}
