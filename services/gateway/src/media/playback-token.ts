/**
 * Verifies the playback tokens the catalog signs (services/catalog/src/playback.ts):
 * `<exp>.<sig>`, exp in Unix seconds, sig = base64url(HMAC-SHA256(key,
 * "v1:<video id>:<exp>")), key = HKDF-SHA256(CATALOG_PLAYBACK_SECRET, info
 * "wavecast playback token v1"). A format shared by two services, each side
 * pins the same test vector.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export type TokenCheck = 'ok' | 'expired' | 'invalid';

const TOKEN = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

export class PlaybackTokenVerifier {
  readonly #key: Buffer;

  constructor(secret: Buffer) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'wavecast playback token v1', 32));
  }

  /** 'expired' only for a token that was genuine: a forged one is 'invalid' whatever its expiry. */
  check(videoId: string, token: string, nowSeconds: number): { result: TokenCheck; exp: number } {
    const match = TOKEN.exec(token);
    if (!match) return { result: 'invalid', exp: 0 };
    const exp = Number(match[1]);
    const given = Buffer.from(match[2]!, 'base64url');
    const expected = createHmac('sha256', this.#key).update(`v1:${videoId}:${exp}`).digest();
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { result: 'invalid', exp };
    return { result: exp > nowSeconds ? 'ok' : 'expired', exp };
  }
}
