import type { Cache } from '@wavecast/kit/cache';
import { AppError } from '@wavecast/kit/errors';

export interface ThrottleLimits {
  /** Failed logins for one account before it is locked for the window. */
  perAccount: number;
  /** Failed logins from one address before it is locked for the window. */
  perAddress: number;
  windowMs: number;
}

export const defaultThrottleLimits: ThrottleLimits = { perAccount: 5, perAddress: 50, windowMs: 15 * 60_000 };

const accountKey = (login: string) => `auth:fail:acct:${login.toLowerCase()}`;
const addressKey = (ip: string) => `auth:fail:ip:${ip}`;

/**
 * Brute-force protection for logins: failures are counted per account and per
 * client address in the cache port (shared by all auth instances); over the
 * limit, logins are refused with RESOURCE_EXHAUSTED until the window passes,
 * even with the right password.
 */
export class LoginThrottle {
  readonly #cache: Cache;
  readonly #limits: ThrottleLimits;

  constructor(cache: Cache, limits: ThrottleLimits = defaultThrottleLimits) {
    this.#cache = cache;
    this.#limits = limits;
  }

  async check(login: string, ip: string): Promise<void> {
    const keys = [accountKey(login), ...(ip ? [addressKey(ip)] : [])];
    const [account, address] = await this.#cache.getMany(keys);
    const locked =
      Number(account ?? 0) >= this.#limits.perAccount
        ? keys[0]
        : Number(address ?? 0) >= this.#limits.perAddress
          ? keys[1]
          : undefined;
    if (!locked) return;
    const ttl = (await this.#cache.ttl(locked)) ?? this.#limits.windowMs;
    const retryAfterSeconds = Math.max(1, Math.ceil(ttl / 1000));
    throw new AppError('resource_exhausted', `too many failed logins; try again in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
    });
  }

  async failed(login: string, ip: string): Promise<void> {
    const ttlMs = this.#limits.windowMs;
    await Promise.all([
      this.#cache.increment(accountKey(login), { ttlMs }),
      ip ? this.#cache.increment(addressKey(ip), { ttlMs }) : undefined,
    ]);
  }

  async succeeded(login: string): Promise<void> {
    await this.#cache.delete(accountKey(login));
  }
}
