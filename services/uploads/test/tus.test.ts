/**
 * tus uploads end to end on local storage: tus-js-client against the handler
 * on a real HTTP server, through a connection that drops mid-PATCH, across a
 * restart, and with every kind of bad input. Each bad input ends with its
 * response and event and leaves storage as it was.
 */
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import { type CuttingProxy, startCuttingProxy } from './support/cutting-proxy.ts';
import { type Media, makeMedia } from './support/media.ts';
import { failure, MemoryUrlStorage, tusUpload } from './support/tus-client.ts';
import { type Instance, openWorld, type World } from './support/world.ts';

const CHUNK = 256 * 1024;
const metadata = (videoId: string) => `video_id ${Buffer.from(videoId).toString('base64')}`;

describe('tus uploads on local storage', () => {
  let dir: string;
  let media: Media;
  let world: World;
  let instance: Instance;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wavecast-uploads-'));
    media = await makeMedia(dir);
    world = await openWorld(`file:${join(dir, 'storage')}`);
    instance = await world.start();
  });
  afterAll(async () => {
    await instance?.stop();
    await world?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Files tus still holds (an upload and its .json each). */
  const staged = async () => readdir(join(dir, 'storage', 'uploads', '.tus')).catch(() => []);
  /** Staging is emptied just after the answer to the request that finished an upload. */
  const stagingEmpties = () => eventually(async () => expect(await staged()).toEqual([]));
  const stored = async (videoId: string) =>
    Buffer.from(
      await (await world.storage.get(world.sourceKey(videoId))).toArray().then((c) => Buffer.concat(c)),
    );

  /** Uploads through a proxy that drops the connection part-way through the file, and checks the server kept a part. */
  async function cutMidway(
    endpoint: string,
    proxy: CuttingProxy,
    file: Buffer,
    token: string,
    videoId: string,
  ) {
    const urlStorage = new MemoryUrlStorage();
    proxy.cutAfter(Math.floor(file.length * 0.45));
    const first = await tusUpload(file, { endpoint, token, videoId, urlStorage }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(first).toBeInstanceOf(Error);
    await proxy.cut;
    const [previous] = await urlStorage.findAllUploads();
    expect(previous?.uploadUrl).toMatch(/\/v1\/uploads\/upl_[0-9A-Z]{26}$/);
    return { urlStorage, uploadUrl: previous!.uploadUrl! };
  }

  async function offsetOf(uploadUrl: string, token: string): Promise<number> {
    const res = await fetch(uploadUrl, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' },
    });
    expect(res.status).toBe(200);
    return Number(res.headers.get('upload-offset'));
  }

  it('resumes an upload cut mid-PATCH and stores the file byte for byte, announcing its probe', async () => {
    const ada = await world.user();
    const videoId = world.video(ada.id);
    const proxy = await startCuttingProxy(instance.port);
    try {
      const endpoint = `http://127.0.0.1:${proxy.port}/v1/uploads`;
      const { urlStorage, uploadUrl } = await cutMidway(endpoint, proxy, media.clip, ada.token, videoId);
      // The server kept what arrived before the cut, and nothing is announced yet.
      await eventually(async () => {
        const offset = await offsetOf(uploadUrl, ada.token);
        expect(offset).toBeGreaterThan(0);
        expect(offset).toBeLessThan(media.clip.length);
      });
      expect(world.eventsOf(videoId)).toEqual([]);

      const { patches } = await tusUpload(media.clip, {
        endpoint,
        token: ada.token,
        videoId,
        urlStorage,
        resume: true,
      });
      expect(patches).toBeLessThan(Math.ceil(media.clip.length / CHUNK)); // it did not start over
    } finally {
      await proxy.close();
    }
    expect((await stored(videoId)).equals(media.clip)).toBe(true);
    await eventually(async () => expect(world.eventsOf(videoId)).toHaveLength(1));
    const [event] = world.eventsOf(videoId);
    expect(event).toMatchObject({
      type: 'video.uploaded.v1',
      data: {
        video_id: videoId,
        owner_id: ada.id,
        source_key: world.sourceKey(videoId),
        size_bytes: media.clip.length,
        probe: { width: 640, height: 360, video_codec: 'h264', audio_codec: 'aac', frame_rate: 30 },
      },
    });
    expect(event!.data.probe.duration_seconds).toBeCloseTo(6, 0);
    await stagingEmpties();
  });

  it('resumes on a new instance after the first one stopped mid-upload', async () => {
    const ada = await world.user();
    const videoId = world.video(ada.id);
    const first = await world.start();
    const proxy = await startCuttingProxy(first.port);
    let second: Instance | undefined;
    try {
      const endpoint = `http://127.0.0.1:${proxy.port}/v1/uploads`;
      const { urlStorage } = await cutMidway(endpoint, proxy, media.faststart, ada.token, videoId);
      await first.stop();
      second = await world.start();
      proxy.setUpstream(second.port);
      await tusUpload(media.faststart, { endpoint, token: ada.token, videoId, urlStorage, resume: true });
    } finally {
      await proxy.close();
      await second?.stop();
    }
    expect((await stored(videoId)).equals(media.faststart)).toBe(true);
    await eventually(async () =>
      expect(world.eventsOf(videoId).map((e) => e.type)).toEqual(['video.uploaded.v1']),
    );
  });

  it('judges a complete upload again on the next HEAD when judging failed part-way', async () => {
    // An ffprobe that is killed while a marker file exists: judging fails with 503.
    const marker = join(dir, 'ffprobe-down');
    const ffprobe = join(dir, 'flaky-ffprobe');
    await writeFile(
      ffprobe,
      `#!/bin/sh\n[ -e ${marker} ] && [ "$1" != -version ] && kill -9 $$\nexec ffprobe "$@"\n`,
    );
    await chmod(ffprobe, 0o755);
    const flaky = await world.start({ FFPROBE_PATH: ffprobe });
    try {
      const ada = await world.user();
      const videoId = world.video(ada.id);
      const urlStorage = new MemoryUrlStorage();
      await writeFile(marker, '');
      const err = await tusUpload(media.clip, {
        endpoint: flaky.endpoint,
        token: ada.token,
        videoId,
        urlStorage,
      }).catch((e: unknown) => e);
      expect(failure(err)).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
      expect(world.eventsOf(videoId)).toEqual([]);
      await rm(marker);
      // tus-js-client resumes with HEAD, learns the upload is complete, and succeeds.
      const { patches } = await tusUpload(media.clip, {
        endpoint: flaky.endpoint,
        token: ada.token,
        videoId,
        urlStorage,
        resume: true,
      });
      expect(patches).toBe(0);
      expect((await stored(videoId)).equals(media.clip)).toBe(true);
      await eventually(async () =>
        expect(world.eventsOf(videoId).map((e) => e.type)).toEqual(['video.uploaded.v1']),
      );
      await stagingEmpties();
    } finally {
      await rm(marker, { force: true });
      await flaky.stop();
    }
  });

  describe('refuses files that are not videos, failing the video with a reason', () => {
    const cases: [string, () => Buffer, string][] = [
      [
        'a text file',
        () => Buffer.from('these are my holiday notes, not a video\n'.repeat(50)),
        'the file is not a media file ffprobe can read: Invalid data found when processing input',
      ],
      [
        'the first 30% of an MP4 whose index is at the end',
        () => media.clip.subarray(0, Math.floor(media.clip.length * 0.3)),
        'the file is not a media file ffprobe can read: moov atom not found; Invalid data found when processing input',
      ],
      [
        'the first 30% of an MP4 whose index is in front',
        () => media.faststart.subarray(0, Math.floor(media.faststart.length * 0.3)),
        'the file is truncated: its video stops before its end',
      ],
      ['an audio file', () => media.audio, 'the file has no video stream'],
      ['an empty file', () => Buffer.alloc(0), 'the file is empty'],
    ];
    it.each(cases)('%s', async (_name, file, reason) => {
      const ada = await world.user();
      const videoId = world.video(ada.id);
      // The endpoint as the gateway advertises it, with a trailing slash.
      const endpoint = `${instance.endpoint}/`;
      const err = await tusUpload(file(), { endpoint, token: ada.token, videoId }).catch((e: unknown) => e);
      expect(failure(err)).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_argument', message: reason, request_id: expect.any(String) } },
      });
      await eventually(async () =>
        expect(world.eventsOf(videoId)).toEqual([
          { type: 'video.failed.v1', data: expect.objectContaining({ stage: 'upload', reason }) },
        ]),
      );
      expect(await world.storage.head(world.sourceKey(videoId))).toBeNull();
      await stagingEmpties();
    });
  });

  it('refuses a file over the limit at creation with 413, failing the video', async () => {
    const small = await world.start({ UPLOADS_MAX_BYTES: String(1024 * 1024) });
    try {
      const ada = await world.user();
      const videoId = world.video(ada.id);
      const err = await tusUpload(media.clip, { endpoint: small.endpoint, token: ada.token, videoId }).catch(
        (e: unknown) => e,
      );
      const reason = 'the file is larger than the 1 MiB limit';
      expect(failure(err)).toMatchObject({
        status: 413,
        body: { error: { code: 'payload_too_large', message: reason } },
      });
      await eventually(async () =>
        expect(world.eventsOf(videoId)).toEqual([
          { type: 'video.failed.v1', data: expect.objectContaining({ reason }) },
        ]),
      );
      await stagingEmpties();
    } finally {
      await small.stop();
    }
  });

  it('answers 401 without a valid token, before asking the catalog', async () => {
    const ada = await world.user();
    const videoId = world.video(ada.id);
    const calls = world.authorizeCalls;
    for (const authorization of [undefined, 'Bearer not-a-token', `Basic ${ada.token}`]) {
      const res = await fetch(instance.endpoint, {
        method: 'POST',
        headers: {
          'tus-resumable': '1.0.0',
          'upload-length': '10',
          'upload-metadata': metadata(videoId),
          ...(authorization && { authorization }),
        },
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({
        error: { code: 'unauthenticated', request_id: expect.any(String) },
      });
    }
    expect(world.authorizeCalls).toBe(calls);
    expect(world.eventsOf(videoId)).toEqual([]);
  });

  it('answers what the catalog says: 403 for another user’s video, 404 for none, 409 for one not waiting', async () => {
    const [ada, bob] = [await world.user(), await world.user()];
    const adas = world.video(ada.id);
    const done = world.video(ada.id, false);
    const cases: [string, string, number, string][] = [
      [bob.token, adas, 403, 'permission_denied'],
      [ada.token, 'vid_01JAAAAAAAAAAAAAAAAAAAAAAA', 404, 'not_found'],
      [ada.token, done, 409, 'already_exists'],
    ];
    for (const [token, videoId, status, code] of cases) {
      const err = await tusUpload(media.clip, { endpoint: instance.endpoint, token, videoId }).catch(
        (e: unknown) => e,
      );
      expect(failure(err)).toMatchObject({ status, body: { error: { code } } });
    }
    expect(world.eventsOf(adas)).toEqual([]);
    expect(world.eventsOf(done)).toEqual([]);
    await stagingEmpties();
  });

  it('lets only the uploader see, continue or end an upload, asking the catalog before each PATCH', async () => {
    const [ada, bob] = [await world.user(), await world.user()];
    const videoId = world.video(ada.id);
    const headers = (token: string) => ({ authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' });
    const created = await fetch(instance.endpoint, {
      method: 'POST',
      headers: {
        ...headers(ada.token),
        'upload-length': String(media.clip.length),
        'upload-metadata': metadata(videoId),
      },
    });
    expect(created.status).toBe(201);
    const location = created.headers.get('location') ?? '';
    expect(location).toMatch(/^\/v1\/uploads\/upl_[0-9A-Z]{26}$/);
    const uploadUrl = new URL(location, instance.endpoint).toString();
    const patch = (token: string) =>
      fetch(uploadUrl, {
        method: 'PATCH',
        headers: {
          ...headers(token),
          'upload-offset': '0',
          'content-type': 'application/offset+octet-stream',
        },
        body: media.clip.subarray(0, CHUNK),
      });

    for (const method of ['HEAD', 'DELETE']) {
      expect((await fetch(uploadUrl, { method, headers: headers(bob.token) })).status).toBe(403);
    }
    const bobs = await patch(bob.token);
    expect(bobs.status).toBe(403);
    expect(await bobs.json()).toMatchObject({ error: { code: 'permission_denied' } });
    expect(await offsetOf(uploadUrl, ada.token)).toBe(0);

    // The catalog changes its mind (the video was deleted): the next PATCH is refused.
    world.videos.get(videoId)!.awaiting = false;
    expect((await patch(ada.token)).status).toBe(409);
    world.videos.get(videoId)!.awaiting = true;
    const ok = await patch(ada.token);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('upload-offset')).toBe(String(CHUNK));

    // A PATCH at the wrong offset is tus's 409, as JSON.
    const stale = await patch(ada.token);
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ error: { code: 'failed_precondition' } });

    expect((await fetch(uploadUrl, { method: 'DELETE', headers: headers(ada.token) })).status).toBe(204);
    expect((await fetch(uploadUrl, { method: 'HEAD', headers: headers(ada.token) })).status).toBe(404);
    await stagingEmpties();
    expect(world.eventsOf(videoId)).toEqual([]);
  });

  it('refuses uploads of unknown size and creations without a video', async () => {
    const ada = await world.user();
    const videoId = world.video(ada.id);
    const post = (extra: Record<string, string>) =>
      fetch(instance.endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${ada.token}`, 'tus-resumable': '1.0.0', ...extra },
      });
    const deferred = await post({ 'upload-defer-length': '1', 'upload-metadata': metadata(videoId) });
    expect(deferred.status).toBe(400);
    const noVideo = await post({ 'upload-length': '10' });
    expect(noVideo.status).toBe(400);
    expect(await noVideo.json()).toMatchObject({
      error: {
        code: 'invalid_argument',
        fields: [{ field: 'Upload-Metadata', message: 'must carry video_id' }],
      },
    });
    expect((await post({ 'upload-length': '10', 'upload-metadata': metadata('bob') })).status).toBe(400);
    await stagingEmpties();
  });

  it('never stores more than the length the upload was created with', async () => {
    const ada = await world.user();
    const headers = { authorization: `Bearer ${ada.token}`, 'tus-resumable': '1.0.0' };
    const created = await fetch(instance.endpoint, {
      method: 'POST',
      headers: { ...headers, 'upload-length': '10', 'upload-metadata': metadata(world.video(ada.id)) },
    });
    const uploadUrl = new URL(created.headers.get('location')!, instance.endpoint);
    const tooMuch = await fetch(uploadUrl, {
      method: 'PATCH',
      headers: { ...headers, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: Buffer.alloc(20, 1),
    });
    expect(tooMuch.status).toBe(413);
    expect(await tooMuch.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(await offsetOf(uploadUrl.toString(), ada.token)).toBe(0);
    expect((await fetch(uploadUrl, { method: 'DELETE', headers })).status).toBe(204);
  });

  it('answers browsers: preflight, and CORS headers on every answer, errors included', async () => {
    const origin = 'https://app.example.com';
    const preflight = await fetch(instance.endpoint, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, tus-resumable, upload-length, upload-metadata',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PATCH');
    const allowed = preflight.headers.get('access-control-allow-headers')?.toLowerCase() ?? '';
    for (const h of ['authorization', 'tus-resumable', 'upload-length', 'upload-metadata', 'upload-offset']) {
      expect(allowed).toContain(h);
    }
    expect(preflight.headers.get('tus-version')).toBe('1.0.0');
    expect(preflight.headers.get('tus-max-size')).toBe(String(10 * 1024 ** 3));

    const ada = await world.user();
    const created = await fetch(instance.endpoint, {
      method: 'POST',
      headers: {
        origin,
        authorization: `Bearer ${ada.token}`,
        'tus-resumable': '1.0.0',
        'upload-length': '1',
        'upload-metadata': metadata(world.video(ada.id)),
      },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-allow-origin')).toBe('*');
    const exposed = created.headers.get('access-control-expose-headers')?.toLowerCase() ?? '';
    for (const h of ['location', 'upload-offset', 'upload-length', 'x-request-id'])
      expect(exposed).toContain(h);
    const refused = await fetch(instance.endpoint, {
      method: 'POST',
      headers: { origin, 'tus-resumable': '1.0.0' },
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(refused.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('upload-offset');
    const location = created.headers.get('location')!;
    await fetch(new URL(location, instance.endpoint), {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ada.token}`, 'tus-resumable': '1.0.0' },
    });
  });

  it('only takes paths under /v1/uploads, and never serves uploaded bytes back', async () => {
    const res = await fetch(instance.endpoint.replace('/v1/uploads', '/v1/other'));
    expect(res.status).toBe(404);
    expect(await text(res.body as never)).toBe(''); // the test server's own 404: handle() said false
    const get = await fetch(`${instance.endpoint}/upl_01JAAAAAAAAAAAAAAAAAAAAAAA`);
    expect(get.status).toBe(404);
    expect(await get.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('left nothing in storage but the files it accepted', async () => {
    const keys = (await world.storage.list('')).map((o) => o.key);
    const accepted = world.events
      .filter((e) => e.type === 'video.uploaded.v1')
      .map((e) => (e.data as any).source_key);
    expect(keys.sort()).toEqual(accepted.sort());
    await stagingEmpties();
  });
});
