/**
 * The direct-to-bucket upload end to end, on S3 storage (s3rver): the
 * all-in-one platform hands out a presigned PUT URL, the client PUTs a
 * generated clip straight into the bucket with fetch, confirms it, and the
 * video becomes READY with playback that ends at presigned S3 URLs
 * (PLAYBACK_MODE=s3-presigned). Then what must be refused: confirming before
 * the PUT, someone else's video, a file that is no video, and local storage.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../packages/kit/src/ids.ts';
import { eventually } from '../../packages/kit/test/support/poll.ts';
import { type S3Fixture, startS3 } from '../../packages/kit/test/support/s3.ts';
import { type Api, uniqueName } from './support/api.ts';
import { startTestPlatform, type TestPlatform } from './support/platform.ts';
import { makeClip } from './support/vod.ts';

async function register(api: Api): Promise<string> {
  const username = uniqueName('direct');
  const reg = await api.post('/v1/auth/register', {
    username,
    email: `${username}@example.com`,
    password: 'correct horse battery',
  });
  expect(reg.status).toBe(201);
  return reg.body.access_token as string;
}

async function draft(api: Api, token: string, title: string): Promise<string> {
  const created = await api.post('/v1/videos', { title, visibility: 'unlisted' }, token);
  expect(created.status).toBe(201);
  return created.body.video.id as string;
}

/** Follows nothing: a 302 from the gateway is what is checked. */
const fetchManual = (url: string) => fetch(url, { redirect: 'manual' });

describe('direct uploads to S3 (s3rver)', () => {
  let dir: string;
  let s3: S3Fixture;
  let test: TestPlatform;
  let api: Api;
  let clip: Buffer;
  let ada: string;
  let bob: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wavecast-vod-s3-direct-'));
    clip = await makeClip(join(dir, 'clip.mp4'), { width: 640, height: 360, seconds: 4 });
    s3 = await startS3('wavecast-direct');
    test = await startTestPlatform('vod-s3-direct', {
      STORAGE_URL: s3.url,
      PLAYBACK_MODE: 's3-presigned',
      ENCODER_LADDER: '360:600',
      // tus is not used here; with an expiry @tus/s3-store would list parts, which s3rver lacks.
      UPLOADS_INCOMPLETE_TTL_HOURS: '0',
    });
    api = test.api;
    [ada, bob] = [await register(api), await register(api)];
  }, 120_000);

  afterAll(async () => {
    await test?.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('PUTs a clip to the presigned URL, confirms it, and plays it from presigned S3 URLs', async () => {
    const id = await draft(api, ada, 'Straight to the bucket');
    const direct = await api.post(`/v1/videos/${id}/upload-url`, { size_bytes: clip.length }, ada);
    expect(direct.status).toBe(200);
    expect(direct.headers.get('cache-control')).toBe('no-store');
    expect(direct.body).toMatchObject({
      method: 'PUT',
      headers: { 'content-length': String(clip.length) },
      max_bytes: clip.length,
    });
    const url = new URL(direct.body.url);
    expect(`${url.protocol}//${url.host}`).toBe(s3.endpoint);
    expect(url.pathname).toBe(`/${s3.bucket}/uploads/${id}/source`);
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(direct.body.expires_at)).toBeGreaterThan(Date.now());

    const put = await fetch(direct.body.url, { method: 'PUT', body: clip });
    expect(put.status).toBe(200);
    const done = await api.post(`/v1/videos/${id}/upload-complete`, undefined, ada);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      video_id: id,
      status: 'uploaded',
      size_bytes: clip.length,
      probe: { width: 640, height: 360, video_codec: 'h264', audio_codec: 'aac' },
    });
    // The file is taken: once the catalog has learnt it (an event), another attempt conflicts.
    await eventually(async () => {
      expect((await api.post(`/v1/videos/${id}/upload-url`, {}, ada)).status).toBe(409);
    }, 10_000);

    await eventually(async () => {
      const video = (await api.get(`/v1/videos/${id}`, ada)).body;
      expect(video.status).toBe('ready');
    }, 120_000);
    const { playback } = (await api.get(`/v1/videos/${id}`, ada)).body;
    // Unlisted: signed paths that expire.
    expect(playback.hls_url).toMatch(new RegExp(`^/media/t/\\d+\\.[\\w-]{43}/videos/${id}/master\\.m3u8$`));
    expect(Date.parse(playback.expires_at)).toBeGreaterThan(Date.now());

    // Manifests come from the gateway (relative URLs keep the token)…
    const master = await fetch(`${test.platform.url}${playback.hls_url}`);
    expect(master.status).toBe(200);
    const variant = (await master.text()).split('\n').find((l) => l !== '' && !l.startsWith('#'));
    expect(variant).toBeDefined();
    const base = playback.hls_url.slice(0, playback.hls_url.lastIndexOf('/') + 1);
    const media = await fetch(`${test.platform.url}${base}${variant}`);
    expect(media.status).toBe(200);
    const segment = (await media.text()).split('\n').find((l) => l !== '' && !l.startsWith('#'));
    expect(segment).toBeDefined();
    const mpd = await fetch(`${test.platform.url}${playback.dash_url}`);
    expect(mpd.status).toBe(200);

    // …segments and the poster are redirects to presigned S3 URLs that fetch.
    const variantDir = `${base}${variant!.includes('/') ? variant!.slice(0, variant!.lastIndexOf('/') + 1) : ''}`;
    for (const path of [`${variantDir}${segment}`, playback.poster_url as string]) {
      const redirect = await fetchManual(`${test.platform.url}${path}`);
      expect(redirect.status).toBe(302);
      const location = new URL(redirect.headers.get('location') ?? '');
      expect(`${location.protocol}//${location.host}`).toBe(s3.endpoint);
      expect(location.pathname.startsWith(`/${s3.bucket}/videos/${id}/`)).toBe(true);
      expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      const object = await fetch(location);
      expect(object.status).toBe(200);
      expect((await object.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
  }, 180_000);

  it('refuses to confirm before the PUT, and anything on a video that is not yours or does not exist', async () => {
    const id = await draft(api, ada, 'Not yet');
    const early = await api.post(`/v1/videos/${id}/upload-complete`, {}, ada);
    expect(early.status).toBe(412);
    expect(early.body.error).toMatchObject({
      code: 'failed_precondition',
      message: expect.stringContaining('no file has been uploaded'),
    });
    for (const action of ['upload-url', 'upload-complete']) {
      expect((await api.post(`/v1/videos/${id}/${action}`, {}, bob)).status).toBe(403);
      expect((await api.post(`/v1/videos/${newId('vid')}/${action}`, {}, ada)).status).toBe(404);
      expect((await api.post(`/v1/videos/${id}/${action}`, {})).status).toBe(401);
      expect((await api.post(`/v1/videos/not-a-video/${action}`, {}, ada)).status).toBe(400);
    }
    const bad = await api.post(`/v1/videos/${id}/upload-url`, { size_bytes: 0 }, ada);
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual([{ field: 'size_bytes', message: expect.any(String) }]);
    // Still a draft: nothing was failed by the refusals.
    expect((await api.get(`/v1/videos/${id}`, ada)).body.status).toBe('draft');
  });

  it('fails a video whose PUT file is no video, with the reason, and deletes the object', async () => {
    const id = await draft(api, ada, 'Only words');
    const direct = await api.post(`/v1/videos/${id}/upload-url`, {}, ada);
    expect(direct.status).toBe(200);
    expect(direct.body.headers).toEqual({});
    const text = Buffer.from('this is a text file, not a video\n'.repeat(100));
    expect((await fetch(direct.body.url, { method: 'PUT', body: text })).status).toBe(200);
    const done = await api.post(`/v1/videos/${id}/upload-complete`, {}, ada);
    expect(done.status).toBe(400);
    expect(done.body.error.message).toMatch(/not a media file/);
    await eventually(async () => {
      const video = (await api.get(`/v1/videos/${id}`, ada)).body;
      expect(video.status).toBe('failed');
      expect(video.failure_reason).toBe(done.body.error.message);
    }, 20_000);
    expect(await test.platform.storage.head(`uploads/${id}/source`)).toBeNull();
  });
});

describe('direct uploads on local storage', () => {
  it('are refused with a message that points to tus', async () => {
    const test = await startTestPlatform('vod-local-direct');
    try {
      const token = await register(test.api);
      const id = await draft(test.api, token, 'Local');
      // upload-url's body is optional.
      for (const [action, body] of [
        ['upload-url', undefined],
        ['upload-url', { size_bytes: 10 }],
        ['upload-complete', undefined],
      ] as const) {
        const res = await test.api.post(`/v1/videos/${id}/${action}`, body, token);
        expect(res.status).toBe(412);
        expect(res.body.error).toMatchObject({
          code: 'failed_precondition',
          message: 'direct uploads need S3 storage; upload with tus at /v1/uploads',
        });
      }
    } finally {
      await test.close();
    }
  }, 60_000);
});
