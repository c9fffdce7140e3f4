/**
 * Viewers of a live channel: distinct player sessions (client address and
 * user agent) that fetched one of its playlists within the window. A player
 * reloads its playlist every part or segment, so a window of a few seconds
 * counts the players that are watching now.
 *
 * Every playlist request lands here, so a sighting is one Map write keyed on
 * the raw (address, user agent) pair, no hashing. Addresses are personal data:
 * a sweep forgets every pair not seen within the window, at least every
 * `windowMs / SWEEPS_PER_WINDOW` while anything is held, so none is kept for
 * much longer than the window.
 */
const SWEEPS_PER_WINDOW = 6;
/** Enough to tell players apart; a longer user agent cannot make an entry bigger. */
const MAX_USER_AGENT = 256;

export class ViewerCounter {
  readonly #windowMs: number;
  readonly #seen = new Map<string, Map<string, number>>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(windowMs = 30_000) {
    this.#windowMs = windowMs;
  }

  seen(channel: string, address: string, userAgent: string, now = Date.now()): void {
    let viewers = this.#seen.get(channel);
    if (!viewers) {
      viewers = new Map();
      this.#seen.set(channel, viewers);
    }
    const agent = userAgent.length > MAX_USER_AGENT ? userAgent.slice(0, MAX_USER_AGENT) : userAgent;
    viewers.set(`${address}\0${agent}`, now);
    if (!this.#sweeper) {
      this.#sweeper = setInterval(() => this.sweep(), this.#windowMs / SWEEPS_PER_WINDOW);
      this.#sweeper.unref();
    }
  }

  count(channel: string, now = Date.now()): number {
    const viewers = this.#seen.get(channel);
    if (!viewers) return 0;
    this.#expire(channel, viewers, now);
    return viewers.size;
  }

  forget(channel: string): void {
    this.#seen.delete(channel);
    if (this.#seen.size === 0) this.#stopSweeping();
  }

  /** Forgets every pair not seen within the window (also channels nobody watches any more). */
  sweep(now = Date.now()): void {
    for (const [channel, viewers] of this.#seen) this.#expire(channel, viewers, now);
    if (this.#seen.size === 0) this.#stopSweeping();
  }

  /** Pairs held, over all channels. */
  get size(): number {
    let size = 0;
    for (const viewers of this.#seen.values()) size += viewers.size;
    return size;
  }

  #expire(channel: string, viewers: Map<string, number>, now: number): void {
    for (const [key, at] of viewers) if (now - at > this.#windowMs) viewers.delete(key);
    if (viewers.size === 0) this.#seen.delete(channel);
  }

  #stopSweeping(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}
