/**
 * Viewers of a live channel: distinct player sessions (client address and
 * user agent) that fetched one of its playlists within the window. A player
 * reloads its playlist every part or segment, so a window of a few seconds
 * counts the players that are watching now.
 */
import { createHash } from 'node:crypto';

export class ViewerCounter {
  readonly #windowMs: number;
  readonly #seen = new Map<string, Map<string, number>>();

  constructor(windowMs = 30_000) {
    this.#windowMs = windowMs;
  }

  seen(channel: string, address: string, userAgent: string, now = Date.now()): void {
    let viewers = this.#seen.get(channel);
    if (!viewers) {
      viewers = new Map();
      this.#seen.set(channel, viewers);
    }
    // Hashed: the counter needs identity, not the addresses themselves.
    const key = createHash('sha1').update(address).update('\0').update(userAgent).digest('base64url');
    viewers.set(key, now);
  }

  count(channel: string, now = Date.now()): number {
    const viewers = this.#seen.get(channel);
    if (!viewers) return 0;
    for (const [key, at] of viewers) if (now - at > this.#windowMs) viewers.delete(key);
    return viewers.size;
  }

  forget(channel: string): void {
    this.#seen.delete(channel);
  }
}
