import type { Cache } from '@wavecast/kit/cache';
import type { LiveEntry, LiveOrder } from './channel.model.ts';

/** Sorted sets of live channel ids: by viewer count, and by start time. */
const ORDER_KEYS: Record<LiveOrder, string> = {
  viewers: 'live:directory',
  newest: 'live:directory:newest',
};
const entryKey = (channelId: string) => `live:entry:${channelId}`;

/** Bounds the clean-up work one page may do when many entries expired at once. */
const MAX_ROUNDS = 10;

function parse(json: string | null): LiveEntry | null {
  if (json === null) return null;
  try {
    return JSON.parse(json) as LiveEntry;
  } catch {
    return null;
  }
}

/**
 * The live directory in the cache port (Redis in production, so every
 * instance sees one directory). Each live channel has a JSON entry with a
 * TTL that the ingest's heartbeat (UpdateLiveStats) refreshes, and a member
 * in two sorted sets. An ingest node that dies stops refreshing: its entries
 * expire, and listing removes the members whose entry is gone.
 */
export class LiveDirectory {
  readonly #cache: Cache;
  readonly #ttlMs: number;

  constructor(cache: Cache, ttlMs: number) {
    this.#cache = cache;
    this.#ttlMs = ttlMs;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  async put(entry: LiveEntry): Promise<void> {
    await this.#cache.set(entryKey(entry.channelId), JSON.stringify(entry), { ttlMs: this.#ttlMs });
    await Promise.all([
      this.#cache.sortedAdd(ORDER_KEYS.viewers, entry.channelId, entry.viewerCount),
      this.#cache.sortedAdd(ORDER_KEYS.newest, entry.channelId, Date.parse(entry.startedAt)),
    ]);
  }

  async get(channelId: string): Promise<LiveEntry | null> {
    return parse(await this.#cache.get(entryKey(channelId)));
  }

  async getMany(channelIds: string[]): Promise<(LiveEntry | null)[]> {
    return (await this.#cache.getMany(channelIds.map(entryKey))).map(parse);
  }

  /** Takes a channel out; with `sessionId`, only if the entry is that session's (not a newer one's). */
  async remove(channelId: string, sessionId?: string): Promise<void> {
    if (sessionId !== undefined) {
      const entry = await this.get(channelId);
      if (entry && entry.sessionId !== sessionId) return;
    }
    await this.#cache.delete(entryKey(channelId));
    await this.#forget(channelId);
  }

  /** Changes the title or category of a live entry, keeping its expiry. */
  async patch(channelId: string, details: { title: string; category: string }): Promise<void> {
    const entry = await this.get(channelId);
    const ttlMs = await this.#cache.ttl(entryKey(channelId));
    if (!entry || ttlMs === null || ttlMs <= 0) return;
    await this.#cache.set(entryKey(channelId), JSON.stringify({ ...entry, ...details }), { ttlMs });
  }

  /**
   * A page of live entries in `order`, highest first, from position `offset`.
   * Members whose entry expired are removed on the way (they are not
   * counted in positions), so a dead ingest's channels disappear.
   */
  async list(
    order: LiveOrder,
    offset: number,
    limit: number,
  ): Promise<{ entries: LiveEntry[]; more: boolean }> {
    const entries: LiveEntry[] = [];
    let position = offset;
    // One extra, to know whether another page follows.
    const wanted = limit + 1;
    for (let round = 0; round < MAX_ROUNDS && entries.length < wanted; round++) {
      const want = wanted - entries.length;
      const members = await this.#cache.sortedRange(ORDER_KEYS[order], {
        offset: position,
        limit: want,
        reverse: true,
      });
      if (members.length === 0) break;
      const found = await this.getMany(members.map((m) => m.member));
      const stale: string[] = [];
      members.forEach((m, i) => {
        const entry = found[i];
        if (entry) entries.push(entry);
        else stale.push(m.member);
      });
      await Promise.all(stale.map((channelId) => this.#forget(channelId)));
      // Removed members no longer take a position.
      position += members.length - stale.length;
      if (members.length < want) break;
    }
    return { entries: entries.slice(0, limit), more: entries.length > limit };
  }

  async #forget(channelId: string): Promise<void> {
    await Promise.all(Object.values(ORDER_KEYS).map((key) => this.#cache.sortedRemove(key, channelId)));
  }
}
