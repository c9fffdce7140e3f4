/**
 * Videos on demand through the public REST API, on the all-in-one platform
 * started in this process. The test plays the uploads service and the
 * encoder: it publishes their events on the platform's bus and writes small
 * outputs into its storage, then checks what users and players see: status,
 * search, views, ownership, and /media/ delivery (ranges, caching, CORS,
 * signed paths that expire, path traversal).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventData, eventSchemas } from '@wavecast/contracts/events';
import { type EventBus, typedEvents } from '@wavecast/kit/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AllInOne, loadAllInOneConfig, startAllInOne } from '../../apps/cli/src/all-in-one.ts';
import { eventually } from '../../packages/kit/test/support/poll.ts';
import { playbackKey, playbackToken } from '../../services/catalog/src/playback.ts';
import { Api, uniqueName } from './support/api.ts';

type Events = EventBus<typeof eventSchemas>;

interface User {
  id: string;
  token: string;
}

const segment = randomBytes(20_000);

/** What the encoder writes for a video: HLS + DASH over one rendition, a poster and a storyboard. */
async function writeOutputs(platform: AllInOne, id: string): Promise<void> {
  const base = `videos/${id}/`;
  const files: Record<string, string | Buffer> = {
    'master.m3u8': [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"',
      '360p/index.m3u8',
      '',
    ].join('\n'),
    '360p/index.m3u8': [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-PLAYLIST-TYPE:VOD',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXTINF:4.0,',
      'seg_00001.m4s',
      '#EXT-X-ENDLIST',
      '',
    ].join('\n'),
    '360p/init.mp4': randomBytes(800),
    '360p/seg_00001.m4s': segment,
    'manifest.mpd': '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"/>',
    'poster.jpg': randomBytes(500),
    'storyboard.jpg': randomBytes(900),
  };
  for (const [name, body] of Object.entries(files)) await platform.storage.put(base + name, body);
}

function uploadedEvent(id: string, ownerId: string): EventData<'video.uploaded.v1'> {
  return {
    video_id: id,
    owner_id: ownerId,
    source_key: `uploads/${id}/source`,
    size_bytes: 1_000_000,
    probe: {
      duration_seconds: 4,
      width: 640,
      height: 360,
      video_codec: 'h264',
      audio_codec: 'aac',
      frame_rate: 30,
    },
    uploaded_at: new Date().toISOString(),
  };
}

function encodedEvent(id: string): EventData<'video.encoded.v1'> {
  return {
    video_id: id,
    duration_seconds: 4,
    hls_key: `videos/${id}/master.m3u8`,
    dash_key: `videos/${id}/manifest.mpd`,
    poster_key: `videos/${id}/poster.jpg`,
    storyboard: {
      key: `videos/${id}/storyboard.jpg`,
      columns: 2,
      rows: 1,
      tile_width: 160,
      tile_height: 90,
      interval_seconds: 2,
    },
    renditions: [
      { name: '360p', width: 640, height: 360, bandwidth: 800_000, codecs: 'avc1.64001e,mp4a.40.2' },
    ],
    encoded_at: new Date().toISOString(),
  };
}

/** A GET with the path sent exactly as given (fetch would resolve dot segments first). */
function rawGet(base: string, path: string): Promise<number> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('videos on demand', () => {
  let dataDir: string;
  let platform: AllInOne;
  let api: Api;
  let events: Events;
  let key: Buffer;
  let owner: User;
  let stranger: User;
  const deleted: EventData<'video.deleted.v1'>[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wavecast-vod-'));
    platform = await startAllInOne(
      loadAllInOneConfig({
        WAVECAST_DATA_DIR: dataDir,
        DATABASE_URL: 'pglite:memory',
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        RTMP_HOST: '127.0.0.1',
        RTMP_PORT: '0',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        // This test plays the encoder itself.
        ENCODER_IN_PROCESS: 'false',
        // The API is for one web app; media must still be playable from anywhere.
        CORS_ORIGINS: 'https://app.example',
        AUTH_RATE_LIMIT_PER_MINUTE: '10000',
        RATE_LIMIT_PER_MINUTE: '100000',
      }),
    );
    api = new Api(platform.url);
    events = typedEvents(platform.bus, eventSchemas);
    await events.subscribe('test.vod', {
      'video.deleted.v1': async (e) => {
        deleted.push(e);
      },
    });
    // Left unset, the playback secret was generated next to the data, for the owner's eyes only.
    const secretFile = join(dataDir, 'secrets', 'playback.secret');
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    key = playbackKey(Buffer.from((await readFile(secretFile, 'utf8')).trim(), 'base64'));
    owner = await register('owner');
    stranger = await register('viewer');
  }, 60_000);

  afterAll(async () => {
    await platform?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function register(prefix: string): Promise<User> {
    const username = uniqueName(prefix);
    const res = await api.post('/v1/auth/register', {
      username,
      email: `${username}@example.com`,
      password: 'correct horse battery',
    });
    expect(res.status).toBe(201);
    return { id: res.body.user.id, token: res.body.access_token };
  }

  async function create(body: Record<string, unknown>, user = owner) {
    const res = await api.post('/v1/videos', body, user.token);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.video as any;
  }

  const status = async (id: string, user?: User) =>
    (await api.get(`/v1/videos/${id}`, user?.token)).body.status;

  /** Drives a video through the pipeline as the uploads service and the encoder would. */
  async function publishReady(id: string, user = owner) {
    await events.publish('video.uploaded.v1', uploadedEvent(id, user.id));
    await writeOutputs(platform, id);
    await events.publish('video.encoded.v1', encodedEvent(id));
    await eventually(async () => expect(await status(id, user)).toBe('ready'));
  }

  const media = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${platform.url}${path}`, { headers });

  it('creates a draft and says where to upload its file', async () => {
    const res = await api.post(
      '/v1/videos',
      { title: 'Holiday 2024', description: 'Sun and sea', tags: ['Travel', 'travel', 'Beach'] },
      owner.token,
    );
    expect(res.status).toBe(201);
    expect(res.body.video).toMatchObject({
      owner_id: owner.id,
      title: 'Holiday 2024',
      tags: ['travel', 'beach'],
      visibility: 'public',
      status: 'draft',
      progress: 0,
      failure_reason: null,
      view_count: 0,
      playback: null,
      published_at: null,
    });
    expect(res.body.upload).toEqual({
      url: '/v1/uploads/',
      method: 'tus',
      metadata: { video_id: res.body.video.id },
    });
    expect((await api.post('/v1/videos', { title: 'x' })).status).toBe(401);
    const bad = await api.post(
      '/v1/videos',
      { title: '', tags: Array.from({ length: 16 }, (_, i) => `t${i}`), visibility: 'secret', extra: 1 },
      owner.token,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: any) => f.field).sort()).toEqual([
      'extra',
      'tags',
      'title',
      'visibility',
    ]);
  });

  it('follows the pipeline: uploaded, processing with progress, ready with playback', async () => {
    const video = await create({ title: 'Pipeline run', tags: ['e2e'] });
    // A draft is its owner's business.
    expect((await api.get(`/v1/videos/${video.id}`)).status).toBe(404);
    await events.publish('video.uploaded.v1', uploadedEvent(video.id, owner.id));
    await eventually(async () => expect(await status(video.id, owner)).toBe('uploaded'));
    await events.publish('video.progress.v1', {
      video_id: video.id,
      percent: 42,
      attempt: 1,
      at: new Date().toISOString(),
    });
    await eventually(async () => {
      const res = await api.get(`/v1/videos/${video.id}`, owner.token);
      expect(res.body).toMatchObject({ status: 'processing', progress: 42 });
    });
    await writeOutputs(platform, video.id);
    await events.publish('video.encoded.v1', encodedEvent(video.id));
    await eventually(async () => expect(await status(video.id)).toBe('ready'));

    const res = await api.get(`/v1/videos/${video.id}`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({
      status: 'ready',
      progress: 100,
      duration_seconds: 4,
      renditions: [{ name: '360p', width: 640, height: 360 }],
      thumbnail_url: `/media/videos/${video.id}/poster.jpg`,
      owner: { id: owner.id, username: expect.any(String) },
      playback: {
        hls_url: `/media/videos/${video.id}/master.m3u8`,
        dash_url: `/media/videos/${video.id}/manifest.mpd`,
        storyboard: {
          url: `/media/videos/${video.id}/storyboard.jpg`,
          columns: 2,
          rows: 1,
          interval_seconds: 2,
        },
        expires_at: null,
      },
    });
    expect(res.body.published_at).not.toBeNull();
  });

  it('serves a public video to players: content types, caching, CORS, relative URLs, ranges', async () => {
    const video = await create({ title: 'Player check' });
    await publishReady(video.id);
    const { playback } = (await api.get(`/v1/videos/${video.id}`)).body;

    const master = await media(playback.hls_url, { origin: 'https://elsewhere.example' });
    expect(master.status).toBe(200);
    expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(master.headers.get('cache-control')).toBe('public, max-age=10');
    expect(master.headers.get('access-control-allow-origin')).toBe('*');
    const variant = (await master.text()).split('\n').find((l) => l.endsWith('.m3u8'))!;
    const mediaUrl = new URL(variant, `${platform.url}${playback.hls_url}`);
    const playlist = await fetch(mediaUrl);
    expect(playlist.status).toBe(200);
    const segUrl = new URL('seg_00001.m4s', mediaUrl);
    const seg = await fetch(segUrl);
    expect(seg.status).toBe(200);
    expect(seg.headers.get('content-type')).toBe('video/iso.segment');
    expect(seg.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(seg.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await seg.arrayBuffer())).toEqual(segment);
    expect((await fetch(new URL('init.mp4', mediaUrl))).headers.get('content-type')).toBe('video/mp4');
    expect((await media(playback.dash_url)).headers.get('content-type')).toBe('application/dash+xml');
    expect((await media(playback.poster_url)).headers.get('content-type')).toBe('image/jpeg');

    const part = await fetch(segUrl, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${segment.length}`);
    expect(part.headers.get('content-length')).toBe('100');
    expect(Buffer.from(await part.arrayBuffer())).toEqual(segment.subarray(100, 200));
    const tail = await fetch(segUrl, { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(segment.subarray(segment.length - 10));
    const past = await fetch(segUrl, { headers: { range: `bytes=${segment.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${segment.length}`);
    const head = await fetch(segUrl, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(segment.length));
    const again = await fetch(segUrl, { headers: { 'if-none-match': seg.headers.get('etag')! } });
    expect(again.status).toBe(304);

    const preflight = await fetch(segUrl, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://elsewhere.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'range',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('range');

    const missing = await media(`/media/videos/${video.id}/nope.m4s`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('cache-control')).toBeNull();
    expect((await media(`/media/videos/${video.id}/source`)).status).toBe(404);
  });

  it('never serves anything outside the video’s outputs', async () => {
    const video = await create({ title: 'Traversal' });
    await publishReady(video.id);
    await platform.storage.put(`uploads/${video.id}/source`, 'the original file');
    for (const path of [
      `/media/videos/${video.id}/../../uploads/${video.id}/source`,
      `/media/videos/${video.id}/%2e%2e/%2e%2e/uploads/${video.id}/source`,
      `/media/videos/${video.id}/..%2f..%2fuploads%2f${video.id}%2fsource`,
      `/media/videos/${video.id}/%2e%2e%2f%2e%2e%2fsecrets%2fplayback.secret`,
      `/media/uploads/${video.id}/source`,
      '/media/../secrets/playback.secret',
      `/media/videos/${video.id}/.master.m3u8.tmp`,
    ]) {
      expect(await rawGet(platform.url, path), path).toBe(404);
    }
  });

  it('lists and searches public ready videos, page by page', async () => {
    const word = uniqueName('kw');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const v = await create({ title: `${word} episode ${i}`, description: 'a series' });
      await publishReady(v.id);
      ids.push(v.id);
    }
    const tagged = await create({ title: 'Tagged only', tags: [word] });
    await publishReady(tagged.id);
    const hidden = await create({ title: `${word} unlisted`, visibility: 'unlisted' });
    await publishReady(hidden.id);
    await create({ title: `${word} still a draft` });

    const found = await api.get(`/v1/videos?q=${word}`);
    expect(found.status).toBe(200);
    // Title matches rank above a tag match.
    expect(found.body.videos.map((v: any) => v.id).slice(-1)).toEqual([tagged.id]);
    expect(new Set(found.body.videos.map((v: any) => v.id))).toEqual(new Set([...ids, tagged.id]));

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.get(
        `/v1/videos?q=${word}&sort=new&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.videos.map((v: any) => v.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([tagged.id, ...[...ids].reverse()]);

    const bad = await api.get('/v1/videos?cursor=garbage');
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual([{ field: 'cursor', message: 'is not a token of this listing' }]);
    expect((await api.get('/v1/videos?sort=oldest')).status).toBe(400);
  });

  it('counts a view once per viewer: by account, or by address and user agent', async () => {
    const video = await create({ title: 'Counting' });
    await publishReady(video.id);
    const view = async (headers: Record<string, string>, token?: string) =>
      (await api.request('GET', `/v1/videos/${video.id}`, { headers, ...(token && { token }) })).body
        .view_count;
    // Waiting for READY, the owner's requests counted one view already.
    const first = await view({ 'user-agent': 'player-a' });
    expect(first).toBeGreaterThanOrEqual(1);
    expect(await view({ 'user-agent': 'player-a' })).toBe(first);
    expect(await view({ 'user-agent': 'player-b' })).toBe(first + 1);
    expect(await view({ 'user-agent': 'player-a' }, stranger.token)).toBe(first + 2);
    expect(await view({ 'user-agent': 'player-z' }, stranger.token)).toBe(first + 2);
    const sorted = await api.get('/v1/videos?sort=views&limit=100');
    const counts = sorted.body.videos.map((v: any) => v.view_count);
    expect(counts).toEqual([...counts].sort((a: number, b: number) => b - a));
  });

  it('lets only the owner edit or delete; deleting announces it', async () => {
    const video = await create({ title: 'Mine', tags: ['a'] });
    await publishReady(video.id);
    const patched = await api.patch(`/v1/videos/${video.id}`, { title: 'Still mine', tags: [] }, owner.token);
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ title: 'Still mine', tags: [], description: '' });
    expect((await api.patch(`/v1/videos/${video.id}`, { title: 'Theirs' }, stranger.token)).status).toBe(403);
    expect((await api.patch(`/v1/videos/${video.id}`, {}, owner.token)).status).toBe(400);
    expect((await api.request('DELETE', `/v1/videos/${video.id}`, { token: stranger.token })).status).toBe(
      403,
    );
    expect((await api.request('DELETE', `/v1/videos/${video.id}`)).status).toBe(401);

    const gone = await api.request('DELETE', `/v1/videos/${video.id}`, { token: owner.token });
    expect(gone.status).toBe(204);
    expect((await api.get(`/v1/videos/${video.id}`, owner.token)).status).toBe(404);
    await eventually(async () =>
      expect(deleted.find((e) => e.video_id === video.id)).toMatchObject({
        owner_id: owner.id,
        source_key: `uploads/${video.id}/source`,
      }),
    );
    expect((await api.request('DELETE', `/v1/videos/${video.id}`, { token: owner.token })).status).toBe(404);
  });

  it('hides private videos from everyone but the owner, and shows the owner every state', async () => {
    const secret = await create({ title: 'Private', visibility: 'private' });
    await publishReady(secret.id);
    expect((await api.get(`/v1/videos/${secret.id}`)).status).toBe(404);
    expect((await api.get(`/v1/videos/${secret.id}`, stranger.token)).status).toBe(404);
    // A token that does not verify is refused, not taken for an anonymous viewer.
    expect((await api.get(`/v1/videos/${secret.id}`, 'not-a-token')).status).toBe(401);
    expect((await api.patch(`/v1/videos/${secret.id}`, { title: 'x' }, stranger.token)).status).toBe(404);
    const own = await api.get(`/v1/videos/${secret.id}`, owner.token);
    expect(own.status).toBe(200);
    expect(own.body.playback.hls_url).toMatch(
      new RegExp(`^/media/t/\\d+\\.[\\w-]{43}/videos/${secret.id}/master\\.m3u8$`),
    );
    // Its unsigned path plays for nobody.
    expect((await media(`/media/videos/${secret.id}/master.m3u8`)).status).toBe(404);

    const failed = await create({ title: 'Broken upload' });
    await events.publish('video.failed.v1', {
      video_id: failed.id,
      stage: 'upload',
      reason: 'the file is not a video',
      failed_at: new Date().toISOString(),
    });
    await eventually(async () =>
      expect((await api.get(`/v1/videos/${failed.id}`, owner.token)).body).toMatchObject({
        status: 'failed',
        failure_reason: 'the file is not a video',
      }),
    );
    const mine = await api.get('/v1/me/videos?limit=100', owner.token);
    expect(mine.status).toBe(200);
    const statuses = new Map(mine.body.videos.map((v: any) => [v.id, v.status]));
    expect(statuses.get(secret.id)).toBe('ready');
    expect(statuses.get(failed.id)).toBe('failed');
    expect([...statuses.values()]).toContain('draft');
    const theirs = await api.get('/v1/me/videos', stranger.token);
    expect(theirs.body).toEqual({ videos: [], next_cursor: null });
    expect((await api.get('/v1/me/videos')).status).toBe(401);
  });

  it('signs unlisted playback in the path: it works for the video until it expires, and not tampered', async () => {
    const video = await create({ title: 'Unlisted', visibility: 'unlisted' });
    await publishReady(video.id);
    const other = await create({ title: 'Other unlisted', visibility: 'unlisted' });
    await publishReady(other.id);
    const { playback } = (await api.get(`/v1/videos/${video.id}`, stranger.token)).body;
    expect(Date.parse(playback.expires_at)).toBeGreaterThan(Date.now() + 3_600_000);
    const token = /^\/media\/t\/([^/]+)\//.exec(playback.hls_url)![1]!;

    // The token travels in the path, so the relative URLs inside the playlists carry it too.
    const master = await media(playback.hls_url);
    expect(master.status).toBe(200);
    expect(master.headers.get('cache-control')).toBe('private, max-age=10');
    const mediaUrl = new URL('360p/index.m3u8', `${platform.url}${playback.hls_url}`);
    expect(mediaUrl.pathname).toContain(`/media/t/${token}/`);
    expect((await fetch(mediaUrl)).status).toBe(200);
    const seg = await fetch(new URL('seg_00001.m4s', mediaUrl));
    expect(seg.status).toBe(200);
    expect(seg.headers.get('cache-control')).toMatch(/^private, max-age=\d+, immutable$/);
    expect((await media(playback.storyboard.url)).status).toBe(200);

    expect((await media(`/media/videos/${video.id}/master.m3u8`)).status).toBe(404);
    expect((await media(`/media/t/${token}/videos/${other.id}/master.m3u8`)).status).toBe(403);
    const [exp, sig] = token.split('.') as [string, string];
    const flipped = `${exp}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    expect((await media(`/media/t/${flipped}/videos/${video.id}/master.m3u8`)).status).toBe(403);
    expect((await media(`/media/t/${Number(exp) + 60}.${sig}/videos/${video.id}/master.m3u8`)).status).toBe(
      403,
    );

    const now = Math.floor(Date.now() / 1000);
    const expired = await media(
      `/media/t/${playbackToken(key, video.id, now - 1)}/videos/${video.id}/master.m3u8`,
    );
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as any).error.code).toBe('unauthenticated');
    const short = playbackToken(key, video.id, now + 2);
    const path = `/media/t/${short}/videos/${video.id}/360p/seg_00001.m4s`;
    const fresh = await media(path);
    expect(fresh.status).toBe(200);
    expect(Number(/max-age=(\d+)/.exec(fresh.headers.get('cache-control')!)![1])).toBeLessThanOrEqual(2);
    await eventually(async () => expect((await media(path)).status).toBe(401), 5_000);
    expect(Date.now() / 1000).toBeGreaterThanOrEqual(now + 2);
  });
});
