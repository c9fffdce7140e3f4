/**
 * Video on demand end to end, with real clients: tus-js-client uploads a
 * generated 30 s 720p clip (cut off half-way, then resumed), the platform's
 * encoder makes it READY, and both hls.js and dash.js play it in Chromium.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AllInOne } from '../../apps/cli/src/all-in-one.ts';
import { eventually } from '../../packages/kit/test/support/poll.ts';
import { type Api, uniqueName } from './support/api.ts';
import { startTestPlatform, type TestPlatform } from './support/platform.ts';
import { PlayerHarness } from './support/player.ts';
import { makeClip, tusUpload } from './support/vod.ts';

describe('video on demand', () => {
  let test: TestPlatform;
  let dataDir: string;
  let platform: AllInOne;
  let api: Api;
  let player: PlayerHarness;
  let clip: Buffer;
  let token: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wavecast-vod-'));
    const clipPath = join(dataDir, 'clip.mp4');
    clip = await makeClip(clipPath, { width: 1280, height: 720, seconds: 30 });
    test = await startTestPlatform(
      'vod',
      { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', ENCODER_LADDER: '720:2800,480:1400,360:800' },
      dataDir,
    );
    ({ platform, api } = test);
    player = new PlayerHarness();
    await player.start();
    const username = uniqueName('creator');
    const reg = await api.post('/v1/auth/register', {
      username,
      email: `${username}@example.com`,
      password: 'correct horse battery',
    });
    token = reg.body.access_token;
  }, 120_000);

  afterAll(async () => {
    await player?.stop();
    await test?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('uploads with a resume, encodes to READY, and plays in hls.js and dash.js', async () => {
    const created = await api.post(
      '/v1/videos',
      {
        title: 'Sunset over the harbour',
        description: 'A calm evening',
        tags: ['Sea', 'evening'],
        visibility: 'public',
      },
      token,
    );
    expect(created.status).toBe(201);
    expect(created.body.video.status).toBe('draft');
    const id = created.body.video.id as string;
    const endpoint = `${platform.url}${created.body.upload.url}`;

    // The connection is cut at ~40%; the upload resumes where it stopped.
    const first = await tusUpload(endpoint, clip, token, id, { abortAt: 0.4 });
    expect(first.aborted).toBe(true);
    const head = await fetch(first.url, {
      method: 'HEAD',
      headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${token}` },
    });
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(clip.length);
    const second = await tusUpload(endpoint, clip, token, id, { uploadUrl: first.url });
    expect(second.aborted).toBe(false);
    expect(second.url).toBe(first.url);

    // UPLOADED -> PROCESSING (with progress) -> READY.
    const seen = new Set<string>();
    await eventually(async () => {
      const video = (await api.get(`/v1/videos/${id}`, token)).body;
      seen.add(video.status);
      expect(video.status).toBe('ready');
    }, 240_000);
    expect(seen.has('draft')).toBe(false);
    const video = (await api.get(`/v1/videos/${id}`)).body;
    expect(video.duration_seconds).toBeGreaterThan(29);
    expect(video.duration_seconds).toBeLessThan(31);
    expect(video.renditions.map((r: { height: number }) => r.height)).toEqual([720, 480, 360]);
    expect(video.playback.hls_url).toMatch(/master\.m3u8$/);
    expect(video.playback.dash_url).toMatch(/manifest\.mpd$/);

    // The catalog lists and finds it.
    const listed = await api.get('/v1/videos?sort=new');
    expect(listed.body.videos.map((v: { id: string }) => v.id)).toContain(id);
    const found = await api.get('/v1/videos?q=harbour');
    expect(found.body.videos.map((v: { id: string }) => v.id)).toEqual([id]);

    // hls.js and dash.js each play it.
    const url = (path: string) => (path.startsWith('http') ? path : `${platform.url}${path}`);
    for (const open of [
      () => player.play(url(video.playback.hls_url), { lowLatencyMode: false }),
      () => player.playDash(url(video.playback.dash_url)),
    ]) {
      const page = await open();
      await eventually(async () => {
        const stats = await PlayerHarness.stats(page);
        expect(stats.events.filter((e) => e.fatal)).toEqual([]);
        expect(stats.currentTime).toBeGreaterThanOrEqual(3);
        expect(stats.videoHeight).toBeGreaterThan(0);
      }, 60_000);
      await page.close();
    }

    // Deleting removes it and its storage objects.
    expect((await api.request('DELETE', `/v1/videos/${id}`, { token })).status).toBe(204);
    expect((await api.get(`/v1/videos/${id}`, token)).status).toBe(404);
    await eventually(async () => {
      expect(await platform.storage.list(`videos/${id}/`)).toEqual([]);
      expect(await platform.storage.list(`uploads/${id}/`)).toEqual([]);
    }, 20_000);
  }, 420_000);

  it('fails a truncated file, an empty file and one over the size limit, each with its reason', async () => {
    const failed = async (id: string, reason: RegExp) =>
      eventually(async () => {
        const video = (await api.get(`/v1/videos/${id}`, token)).body;
        expect(video.status).toBe('failed');
        expect(video.failure_reason).toMatch(reason);
      }, 30_000);
    const draft = async (title: string) =>
      (await api.post('/v1/videos', { title, visibility: 'private' }, token)).body.video.id as string;

    // The first half of the clip: its index promises 30 s, its frames stop at about 15.
    const truncated = await draft('Truncated');
    await expect(
      tusUpload(`${platform.url}/v1/uploads/`, clip.subarray(0, clip.length >> 1), token, truncated),
    ).rejects.toThrow();
    await failed(truncated, /truncated|cannot be decoded/);

    const empty = await draft('Empty');
    await expect(tusUpload(`${platform.url}/v1/uploads/`, Buffer.alloc(0), token, empty)).rejects.toThrow();
    await failed(empty, /the file is empty/);

    // Refused at creation, from its declared length, before a byte is sent.
    const huge = await draft('Too large');
    const res = await fetch(`${platform.url}/v1/uploads/`, {
      method: 'POST',
      headers: {
        'tus-resumable': '1.0.0',
        'upload-length': String(11 * 1024 ** 3),
        'upload-metadata': `video_id ${Buffer.from(huge).toString('base64')}`,
        authorization: `Bearer ${token}`,
      },
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'the file is larger than the 10 GiB limit',
    );
    await failed(huge, /larger than the 10 GiB limit/);

    // None of them left a source behind.
    for (const id of [truncated, empty, huge]) {
      expect(await platform.storage.list(`uploads/${id}/`)).toEqual([]);
    }
  }, 120_000);

  it("fails a file that is not a video, with a reason, and refuses uploads to another user's video", async () => {
    const created = await api.post('/v1/videos', { title: 'Not a video', visibility: 'private' }, token);
    const id = created.body.video.id as string;
    const text = Buffer.from('this is a text file, not a video\n'.repeat(100));
    await expect(tusUpload(`${platform.url}/v1/uploads/`, text, token, id)).rejects.toThrow();
    await eventually(async () => {
      const video = (await api.get(`/v1/videos/${id}`, token)).body;
      expect(video.status).toBe('failed');
      expect(video.failure_reason).toMatch(/not a media file|no video stream/);
    }, 20_000);

    const other = uniqueName('other');
    const reg = await api.post('/v1/auth/register', {
      username: other,
      email: `${other}@example.com`,
      password: 'correct horse battery',
    });
    const mine = await api.post('/v1/videos', { title: 'Mine', visibility: 'public' }, token);
    const res = await fetch(`${platform.url}/v1/uploads/`, {
      method: 'POST',
      headers: {
        'tus-resumable': '1.0.0',
        'upload-length': '1000',
        'upload-metadata': `video_id ${Buffer.from(mine.body.video.id).toString('base64')}`,
        authorization: `Bearer ${reg.body.access_token}`,
      },
    });
    expect(res.status).toBe(403);
  }, 120_000);
});
