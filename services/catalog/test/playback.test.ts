/**
 * Playback tokens: what the catalog signs and the gateway checks. A token is
 * bound to one video and one expiry; anything else about it is refused.
 */
import { randomBytes } from 'node:crypto';
import { newId } from '@wavecast/kit/ids';
import { describe, expect, it } from 'vitest';
import { checkPlaybackToken, PlaybackSigner, playbackKey, playbackToken } from '../src/playback.ts';
import type { Video } from '../src/video.model.ts';
import { readyVideo } from './support/videos.ts';

const key = playbackKey(randomBytes(32));
const video = newId('vid');
const now = 1_900_000_000;

const ready = (visibility: Video['visibility'], id = video) => readyVideo(visibility, { id });

describe('playback tokens', () => {
  it('accept the token of the video until its expiry, and not at or after it', () => {
    const token = playbackToken(key, video, now + 60);
    expect(token).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    expect(checkPlaybackToken(key, video, token, now)).toBe('ok');
    expect(checkPlaybackToken(key, video, token, now + 59)).toBe('ok');
    expect(checkPlaybackToken(key, video, token, now + 60)).toBe('expired');
    expect(checkPlaybackToken(key, video, token, now + 3600)).toBe('expired');
  });

  it('refuse another video, another secret, a moved expiry and any tampering', () => {
    const token = playbackToken(key, video, now + 60);
    const [exp, sig] = token.split('.') as [string, string];
    expect(checkPlaybackToken(key, newId('vid'), token, now)).toBe('invalid');
    expect(checkPlaybackToken(playbackKey(randomBytes(32)), video, token, now)).toBe('invalid');
    expect(checkPlaybackToken(key, video, `${Number(exp) + 3600}.${sig}`, now)).toBe('invalid');
    const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
    expect(checkPlaybackToken(key, video, `${exp}.${flipped}`, now)).toBe('invalid');
    for (const bad of [
      '',
      exp,
      `${exp}.`,
      `.${sig}`,
      `${exp}.${sig}=`,
      `${exp}.${sig}x`,
      `-1.${sig}`,
      `1e9.${sig}`,
    ]) {
      expect(checkPlaybackToken(key, video, bad, now), bad).toBe('invalid');
    }
    // An expired token that was also tampered with is just invalid: nothing tells it was ever good.
    expect(checkPlaybackToken(key, video, `${exp}.${flipped}`, now + 3600)).toBe('invalid');
  });

  it('derive the same key from the same secret (every instance agrees)', () => {
    const secret = randomBytes(32);
    expect(playbackKey(secret)).toEqual(playbackKey(Buffer.from(secret)));
    // Pinned (computed independently with Python's hmac): the gateway's verifier pins the same value.
    const pinned = playbackKey(Buffer.alloc(32, 7));
    expect(playbackToken(pinned, 'vid_01ARZ3NDEKTSV4RRFFQ69G5FAV', 2_000_000_000)).toBe(
      '2000000000.LT-MuNNdaE0oJXGcDKhtwXtCjAWA8WgBos6mRhJ16fI',
    );
  });

  it('sign the playback URLs of non-public videos in the path, and leave public ones plain', () => {
    const secret = randomBytes(32);
    const signer = new PlaybackSigner(secret, 600);
    const at = new Date(now * 1000);
    expect(signer.playback(ready('public'), at)).toEqual({
      hlsUrl: `/media/videos/${video}/master.m3u8`,
      dashUrl: `/media/videos/${video}/manifest.mpd`,
      posterUrl: '',
      storyboard: null,
      expiresAt: null,
    });
    for (const visibility of ['unlisted', 'private'] as const) {
      const p = signer.playback(ready(visibility), at)!;
      const m = /^\/media\/t\/([^/]+)\/videos\/([^/]+)\/master\.m3u8$/.exec(p.hlsUrl)!;
      expect(m[2]).toBe(video);
      expect(checkPlaybackToken(playbackKey(secret), video, m[1]!, now)).toBe('ok');
      expect(checkPlaybackToken(playbackKey(secret), video, m[1]!, now + 600)).toBe('expired');
      expect(p.expiresAt).toEqual(new Date((now + 600) * 1000));
    }
    expect(signer.playback({ ...ready('public'), status: 'processing' }, at)).toBeNull();
  });
});
