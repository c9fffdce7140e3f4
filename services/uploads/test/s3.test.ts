/**
 * Uploads on S3 storage (s3rver): the direct-to-bucket flow (a presigned PUT
 * with fetch, then upload-complete), and the S3 staging that tus uploads go
 * through. s3rver accepts presigned requests without checking signatures and
 * lacks ListParts, so @tus/s3-store's PATCH itself cannot run against it;
 * creation can, and what the service adds around the store (probing through
 * a presigned GET, promotion by copy, discarding) is exercised here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AppError } from '@wavecast/kit/errors';
import { newId } from '@wavecast/kit/ids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import { type S3Fixture, startS3 } from '../../../packages/kit/test/support/s3.ts';
import { ffprober } from '../src/ffprobe.ts';
import { openStaging, STAGING_PREFIX } from '../src/staging.ts';
import { storageTarget } from '../src/storage-target.ts';
import { type Media, makeMedia } from './support/media.ts';
import { type Instance, openWorld, type World } from './support/world.ts';

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(AppError);
      return err as AppError;
    },
  );

describe('uploads on S3 storage', () => {
  let dir: string;
  let media: Media;
  let s3: S3Fixture;
  let world: World;
  let instance: Instance;
  let client: S3Client;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wavecast-uploads-s3-'));
    media = await makeMedia(dir);
    s3 = await startS3('uploads-test');
    world = await openWorld(s3.url);
    // No expiry: with one, tus reads an upload back after creating it, through
    // ListParts, which s3rver lacks.
    instance = await world.start({
      UPLOADS_MAX_BYTES: String(4 * 1024 * 1024),
      UPLOADS_INCOMPLETE_TTL_HOURS: '0',
    });
    client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  });
  afterAll(async () => {
    client?.destroy();
    await instance?.stop();
    await world?.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const read = async (key: string) => Buffer.concat(await (await world.storage.get(key)).toArray());
  const put = (url: string, body: Buffer) => fetch(url, { method: 'PUT', body });

  it('takes a file PUT to a presigned URL bound to its size, then probes and announces it', async () => {
    const ada = await world.user();
    const videoId = world.video(ada.id);
    const direct = await instance.uploads.presignUpload(videoId, ada.id, media.clip.length);
    expect(direct).toMatchObject({
      method: 'PUT',
      headers: { 'content-length': String(media.clip.length) },
      max_bytes: media.clip.length,
    });
    const url = new URL(direct.url);
    expect(url.pathname).toBe(`/uploads-test/${world.sourceKey(videoId)}`);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(Date.parse(direct.expires_at) - Date.now()).toBeGreaterThan(890_000);
    expect((await put(direct.url, media.clip)).status).toBe(200);

    const done = await instance.uploads.completeUpload(videoId, ada.id);
    expect(done).toMatchObject({
      source_key: world.sourceKey(videoId),
      size_bytes: media.clip.length,
      probe: { width: 640, height: 360, video_codec: 'h264', audio_codec: 'aac', frame_rate: 30 },
    });
    expect((await read(world.sourceKey(videoId))).equals(media.clip)).toBe(true);
    await eventually(async () =>
      expect(world.eventsOf(videoId)).toEqual([
        { type: 'video.uploaded.v1', data: expect.objectContaining({ owner_id: ada.id, probe: done.probe }) },
      ]),
    );
  });

  it('fails the video and deletes the object when the PUT file is no video, or empty', async () => {
    const ada = await world.user();
    const cases: [Buffer, string][] = [
      [Buffer.from('not a video at all\n'.repeat(20)), 'the file is not a media file ffprobe can read'],
      [media.audio, 'the file has no video stream'],
      [Buffer.alloc(0), 'the file is empty'],
    ];
    for (const [file, reason] of cases) {
      const videoId = world.video(ada.id);
      const { url } = await instance.uploads.presignUpload(videoId, ada.id);
      expect((await put(url, file)).status).toBe(200);
      const err = await rejection(instance.uploads.completeUpload(videoId, ada.id));
      expect(err.code).toBe('invalid_argument');
      expect(err.message).toContain(reason);
      expect(await world.storage.head(world.sourceKey(videoId))).toBeNull();
      await eventually(async () =>
        expect(world.eventsOf(videoId)).toEqual([
          {
            type: 'video.failed.v1',
            data: expect.objectContaining({ stage: 'upload', reason: err.message }),
          },
        ]),
      );
    }
  });

  it('refuses to complete before a file arrived, and to presign for others, too large or without a size', async () => {
    const [ada, bob] = [await world.user(), await world.user()];
    const videoId = world.video(ada.id);
    expect((await rejection(instance.uploads.completeUpload(videoId, ada.id))).code).toBe(
      'failed_precondition',
    );
    expect((await rejection(instance.uploads.presignUpload(videoId, bob.id, 10))).code).toBe(
      'permission_denied',
    );
    expect((await rejection(instance.uploads.presignUpload(videoId, ada.id, 0))).code).toBe(
      'invalid_argument',
    );
    expect(world.eventsOf(videoId)).toEqual([]);
    const tooLarge = await rejection(instance.uploads.presignUpload(videoId, ada.id, 4 * 1024 * 1024 + 1));
    expect(tooLarge).toMatchObject({
      code: 'payload_too_large',
      message: 'the file is larger than the 4 MiB limit',
    });
    await eventually(async () =>
      expect(world.eventsOf(videoId)).toEqual([
        { type: 'video.failed.v1', data: expect.objectContaining({ reason: tooLarge.message }) },
      ]),
    );
  });

  it('serves the same flow over HTTP to a gateway in another process, checking the token', async () => {
    const [ada, bob] = [await world.user(), await world.user()];
    const videoId = world.video(ada.id);
    const call = (action: string, token?: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${instance.port}/v1/videos/${videoId}/${action}`, {
        method: 'POST',
        headers: {
          ...(token && { authorization: `Bearer ${token}` }),
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    expect((await call('upload-url')).status).toBe(401);
    expect((await call('upload-url', bob.token, {})).status).toBe(403);
    const early = await call('upload-complete', ada.token);
    expect(early.status).toBe(412);
    expect(await early.json()).toMatchObject({ error: { code: 'failed_precondition' } });
    const presigned = await call('upload-url', ada.token, { size_bytes: media.clip.length });
    expect(presigned.status).toBe(200);
    const direct = (await presigned.json()) as { url: string; headers: Record<string, string> };
    expect(direct).toMatchObject({
      method: 'PUT',
      headers: { 'content-length': String(media.clip.length) },
      max_bytes: media.clip.length,
    });
    expect((await put(direct.url, media.clip)).status).toBe(200);
    const done = await call('upload-complete', ada.token);
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ size_bytes: media.clip.length, probe: { width: 640 } });
    const unknown = await fetch(`http://127.0.0.1:${instance.port}/v1/videos/${newId('vid')}/upload-url`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ada.token}` },
    });
    expect(unknown.status).toBe(404);
  });

  it('creates tus uploads in the bucket under uploads/.tus/', async () => {
    const ada = await world.user();
    const videoId = world.video(ada.id);
    const res = await fetch(instance.endpoint, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ada.token}`,
        'tus-resumable': '1.0.0',
        'upload-length': String(media.clip.length),
        'upload-metadata': `video_id ${Buffer.from(videoId).toString('base64')}`,
      },
    });
    expect(res.status).toBe(201);
    const id = res.headers.get('location')?.split('/').pop();
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${STAGING_PREFIX}/` }),
    );
    expect(listed.Contents?.map((o) => o.Key)).toContain(`${STAGING_PREFIX}/${id}.info`);
  });

  it('stages on S3: probes through a presigned GET, promotes by copy, then discards', async () => {
    const staging = await openStaging(await storageTarget(s3.url), world.storage, {
      expireMs: 0,
      presignSeconds: 60,
    });
    try {
      const storeId = staging.storeId(newId('upl'));
      expect(storeId).toMatch(/^uploads\/\.tus\/upl_/);
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: storeId, Body: media.faststart }));
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${storeId}.info`, Body: '{}' }));
      const input = await staging.probeInput(storeId);
      expect(input).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+\/uploads-test\/uploads\/\.tus\/upl_.*X-Amz-Signature=/,
      );
      expect(await ffprober('ffprobe')(input)).toMatchObject({ ok: true, probe: { width: 640 } });
      const key = `uploads/${newId('vid')}/source`;
      await staging.promote(storeId, key, media.faststart.length);
      expect((await read(key)).equals(media.faststart)).toBe(true);
      await staging.discard(storeId);
      const left = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: storeId }));
      expect(left.Contents ?? []).toEqual([]);
      expect((await read(key)).equals(media.faststart)).toBe(true);
    } finally {
      staging.close();
    }
  });
});

describe('direct uploads on local storage', () => {
  it('are refused: tus is the way there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wavecast-uploads-local-'));
    const world = await openWorld(`file:${dir}`);
    const instance = await world.start();
    try {
      const ada = await world.user();
      const err = await rejection(instance.uploads.presignUpload(world.video(ada.id), ada.id, 10));
      expect(err).toMatchObject({
        code: 'failed_precondition',
        message: expect.stringContaining('/v1/uploads'),
      });
    } finally {
      await instance.stop();
      await world.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
