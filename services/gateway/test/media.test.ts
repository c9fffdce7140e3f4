/**
 * The pieces of /media/ delivery that decide before storage is touched:
 * which paths name an object, byte ranges, and playback tokens (the same
 * format the catalog signs; both sides pin one test vector).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { playbackKey, playbackToken } from '../../catalog/src/playback.ts';
import { mediaKind, parseMediaPath } from '../src/media/media-path.ts';
import { PlaybackTokenVerifier } from '../src/media/playback-token.ts';
import { parseRange } from '../src/media/range.ts';

const vid = 'vid_01ARZ3NDEKTSV4RRFFQ69G5FAV';
const token = `2000000000.${'A'.repeat(43)}`;

describe('media paths', () => {
  it('name the outputs of one video, signed or not', () => {
    expect(parseMediaPath(`/media/videos/${vid}/master.m3u8`)).toEqual({
      videoId: vid,
      key: `videos/${vid}/master.m3u8`,
      token: undefined,
    });
    expect(parseMediaPath(`/media/t/${token}/videos/${vid}/720p/seg_00001.m4s?x=1`)).toEqual({
      videoId: vid,
      key: `videos/${vid}/720p/seg_00001.m4s`,
      token,
    });
  });

  it('never reach outside videos/<id>/', () => {
    for (const url of [
      `/media/videos/${vid}/../other/master.m3u8`,
      `/media/videos/${vid}/%2e%2e/x.m3u8`,
      `/media/videos/${vid}/..%2fx.m3u8`,
      `/media/videos/${vid}/.hidden.m3u8`,
      `/media/videos/${vid}//master.m3u8`,
      `/media/videos/${vid}/a\\b.m3u8`,
      `/media/videos/${vid}/`,
      `/media/videos/${vid}`,
      `/media/videos/vid_short/master.m3u8`,
      `/media/uploads/${vid}/source`,
      `/media/recordings/liv_x/index.m3u8`,
      `/media/t/${token}/uploads/${vid}/source`,
      `/media/t/not-a-token/videos/${vid}/master.m3u8`,
      `/media/t/${token}/t/${token}/videos/${vid}/master.m3u8`,
      `/media/videos/${vid}/a/b/c/d/e.m4s`,
    ]) {
      expect(parseMediaPath(url), url).toBeUndefined();
    }
  });

  it('serve manifests, media, images and text by extension only', () => {
    expect(mediaKind('videos/x/master.m3u8')).toBe('manifest');
    expect(mediaKind('videos/x/manifest.mpd')).toBe('manifest');
    expect(mediaKind('videos/x/720p/init.mp4')).toBe('media');
    expect(mediaKind('videos/x/720p/seg_1.m4s')).toBe('media');
    expect(mediaKind('videos/x/poster.JPG')).toBe('image');
    expect(mediaKind('videos/x/source')).toBeUndefined();
    expect(mediaKind('videos/x/run.sh')).toBeUndefined();
  });
});

describe('byte ranges', () => {
  it('serve one range, clamped to the object', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(parseRange('bytes=900-', 1000)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(parseRange('bytes=900-5000', 1000)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ kind: 'partial', start: 0, end: 999 });
  });

  it('answer 416 past the end, and the whole object for what they cannot serve', () => {
    expect(parseRange('bytes=1000-', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    for (const header of [
      undefined,
      '',
      'bytes=',
      'bytes=-',
      'bytes=5-1',
      'items=0-1',
      'bytes=0-1,5-6',
      'bytes=a-b',
    ]) {
      expect(parseRange(header, 1000), String(header)).toEqual({ kind: 'full' });
    }
  });
});

describe('playback token verifier', () => {
  it('accepts what the catalog signs, until it expires', () => {
    const secret = randomBytes(32);
    const verifier = new PlaybackTokenVerifier(secret);
    const signed = playbackToken(playbackKey(secret), vid, 1_000_060);
    expect(verifier.check(vid, signed, 1_000_000)).toEqual({ result: 'ok', exp: 1_000_060 });
    expect(verifier.check(vid, signed, 1_000_060).result).toBe('expired');
    expect(verifier.check('vid_01ARZ3NDEKTSV4RRFFQ69G5FAW', signed, 1_000_000).result).toBe('invalid');
    expect(new PlaybackTokenVerifier(randomBytes(32)).check(vid, signed, 1_000_000).result).toBe('invalid');
    const [exp, sig] = signed.split('.') as [string, string];
    expect(verifier.check(vid, `${Number(exp) + 1}.${sig}`, 1_000_000).result).toBe('invalid');
    const tampered = `${exp}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    expect(verifier.check(vid, tampered, 2_000_000).result).toBe('invalid');
  });

  it('matches the pinned vector (computed independently with Python’s hmac)', () => {
    const verifier = new PlaybackTokenVerifier(Buffer.alloc(32, 7));
    const pinned = '2000000000.LT-MuNNdaE0oJXGcDKhtwXtCjAWA8WgBos6mRhJ16fI';
    expect(verifier.check(vid, pinned, 1_999_999_999).result).toBe('ok');
  });
});
