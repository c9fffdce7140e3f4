import { eventSchemas } from '@wavecast/contracts/events';
import type { Bus, Subscription } from '@wavecast/kit/bus';
import type { Cache } from '@wavecast/kit/cache';
import { typedEvents } from '@wavecast/kit/events';

const byId = (id: string) => `gw:profile:id:${id}`;
const byName = (username: string) => `gw:profile:name:${username.toLowerCase()}`;

/**
 * Public profiles as serialised JSON in the cache port, so the hot read path
 * (`GET /v1/users/{id}`) is a cache hit instead of an RPC. Entries expire
 * after a TTL and are dropped as soon as the users service reports a change.
 */
export class ProfileCache {
  readonly #cache: Cache;
  readonly #ttlMs: number;

  constructor(cache: Cache, ttlSeconds: number) {
    this.#cache = cache;
    this.#ttlMs = ttlSeconds * 1000;
  }

  key(idOrUsername: string): string {
    return idOrUsername.startsWith('usr_') ? byId(idOrUsername) : byName(idOrUsername);
  }

  get(idOrUsername: string): Promise<string | null> {
    if (this.#ttlMs === 0) return Promise.resolve(null);
    return this.#cache.get(this.key(idOrUsername));
  }

  async put(user: { id: string; username: string }, json: string): Promise<void> {
    if (this.#ttlMs === 0) return;
    await Promise.all([
      this.#cache.set(byId(user.id), json, { ttlMs: this.#ttlMs }),
      this.#cache.set(byName(user.username), json, { ttlMs: this.#ttlMs }),
    ]);
  }

  async drop(userId: string, username: string): Promise<void> {
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
