/**
 * Signed playback URLs. Players resolve the URLs inside a playlist relative
 * to the playlist's own URL, so the token travels in the path, not the query:
 *
 *   /media/t/<exp>.<sig>/videos/<video id>/master.m3u8
 *
 * and every media playlist, segment and init segment below it inherits it.
 * `exp` is the expiry in Unix seconds; `sig` is base64url(HMAC-SHA256(key,
 * "v1:<video id>:<exp>")) with a key derived (HKDF) from
 * CATALOG_PLAYBACK_SECRET. The gateway verifies it with the same secret
 * (services/gateway/src/media/playback-token.ts); neither side stores tokens.
 * Public videos get plain `/media/videos/<id>/…` paths.
 *
 * With a CDN (CloudFront, ./cloudfront.ts) every READY video, public ones
 * too (the distribution refuses unsigned requests), gets CloudFront-signed
 * URLs instead, all with the same query string for the same expiry.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { CloudFrontSigner } from './cloudfront.ts';
import type { Outputs, Playback, Video } from './video.model.ts';

export const MEDIA_PREFIX = '/media/';

/** The 32-byte key tokens are signed with, derived from the shared secret. */
export function playbackKey(secret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'wavecast playback token v1', 32));
}

export function playbackSignature(key: Buffer, videoId: string, exp: number): string {
  return createHmac('sha256', key).update(`v1:${videoId}:${exp}`).digest('base64url');
}

/** `<exp>.<sig>`, the path segment after /media/t/. */
export function playbackToken(key: Buffer, videoId: string, exp: number): string {
  return `${exp}.${playbackSignature(key, videoId, exp)}`;
}

export type TokenCheck = 'ok' | 'expired' | 'invalid';

/** Checks a `<exp>.<sig>` token for a video at `nowSeconds`. */
export function checkPlaybackToken(
  key: Buffer,
  videoId: string,
  token: string,
  nowSeconds: number,
): TokenCheck {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return 'invalid';
  const exp = Number(match[1]);
  const given = Buffer.from(match[2]!, 'base64url');
  const expected = Buffer.from(playbackSignature(key, videoId, exp), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return exp > nowSeconds ? 'ok' : 'expired';
}

/** Builds the playback URLs of READY videos. */
export class PlaybackSigner {
  readonly #key: Buffer;
  readonly #ttlSeconds: number;
  readonly #cdn: CloudFrontSigner | undefined;

  constructor(secret: Buffer, ttlSeconds: number, cdn?: CloudFrontSigner) {
    this.#key = playbackKey(secret);
    this.#ttlSeconds = ttlSeconds;
    this.#cdn = cdn;
  }

  /** Null unless the video is READY with outputs. */
  playback(video: Video, now: Date): Playback | null {
    if (video.status !== 'ready' || !video.outputs) return null;
    const exp = Math.floor(now.getTime() / 1000) + this.#ttlSeconds;
    const cdn = this.#cdn;
    if (cdn) {
      const query = cdn.videoQuery(video.id, exp);
      return urls(video.outputs, (key) => cdn.url(key, query), new Date(exp * 1000));
    }
    if (video.visibility === 'public') return urls(video.outputs, (key) => MEDIA_PREFIX + key, null);
    const base = `${MEDIA_PREFIX}t/${playbackToken(this.#key, video.id, exp)}/`;
    return urls(video.outputs, (key) => base + key, new Date(exp * 1000));
  }
}

function urls(outputs: Outputs, url: (key: string) => string, expiresAt: Date | null): Playback {
  const { storyboard } = outputs;
  return {
    hlsUrl: url(outputs.hlsKey),
    dashUrl: url(outputs.dashKey),
    posterUrl: outputs.posterKey ? url(outputs.posterKey) : '',
    storyboard: storyboard && {
      url: url(storyboard.key),
      columns: storyboard.columns,
      rows: storyboard.rows,
      tileWidth: storyboard.tileWidth,
      tileHeight: storyboard.tileHeight,
      intervalSeconds: storyboard.intervalSeconds,
    },
    expiresAt,
  };
}

/** Whether `key` is an object of this video's outputs (the gateway serves nothing else under /media/). */
export function isOutputKey(videoId: string, key: string): boolean {
  return key.startsWith(`videos/${videoId}/`) && !key.split('/').some((s) => s === '' || s.startsWith('.'));
}
