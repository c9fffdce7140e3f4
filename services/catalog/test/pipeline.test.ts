/**
 * The status machine under the pipeline's events, on PGlite + memory and on
 * PostgreSQL + Redis: in order, repeated, reordered, for unknown videos, and
 * through the bus as the uploads service and the encoder publish them.
 */
import { eventSchemas } from '@wavecast/contracts/events';
import { VideoStatus } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import { typedEvents } from '@wavecast/kit/events';
import { newId } from '@wavecast/kit/ids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import {
  backends,
  createVideo,
  encoded,
  failed,
  type Harness,
  newOwner,
  openHarness,
  progress,
  uploaded,
} from './support/harness.ts';

describe.each(backends)('video status machine on $name', (backend) => {
  let h: Harness;
  const logLines: string[] = [];
  beforeAll(async () => {
    h = await openHarness(backend, { logLines });
  });
  afterAll(() => h?.close());

  const p = () => h.instance.pipeline;
  const state = async (videoId: string, ownerId: string) => {
    const { video } = await h.client.getVideo({ videoId, viewerId: ownerId });
    return video!;
  };
  const fresh = async () => {
    const owner = newOwner();
    return { owner, id: (await createVideo(h, owner)).id };
  };

  it('walks DRAFT -> UPLOADED -> PROCESSING -> READY', async () => {
    const { owner, id } = await fresh();
    await p().onUploaded(uploaded(id, owner));
    expect(await state(id, owner)).toMatchObject({ status: VideoStatus.UPLOADED, durationSeconds: 12.5 });
    await p().onProgress(progress(id, 10));
    await p().onProgress(progress(id, 45.5));
    expect(await state(id, owner)).toMatchObject({ status: VideoStatus.PROCESSING, progress: 45.5 });
    await p().onEncoded(encoded(id));
    const ready = await state(id, owner);
    expect(ready).toMatchObject({ status: VideoStatus.READY, progress: 100, durationSeconds: 12.48 });
    expect(ready.playback?.hlsUrl).toBe(`/media/videos/${id}/master.m3u8`);
  });

  it('only raises progress, whatever order the percentages come in', async () => {
    const { owner, id } = await fresh();
    await p().onUploaded(uploaded(id, owner));
    for (const percent of [30, 10, 60, 60, 20]) await p().onProgress(progress(id, percent));
    expect((await state(id, owner)).progress).toBe(60);
    // A retried attempt starts over at 0; what the owner sees does not go back.
    await p().onProgress(progress(id, 5, new Date(), 2));
    expect(await state(id, owner)).toMatchObject({ status: VideoStatus.PROCESSING, progress: 60 });
  });

  it('never leaves READY: late progress, a second encoded event and a late failure change nothing', async () => {
    const { owner, id } = await fresh();
    await p().onUploaded(uploaded(id, owner));
    await p().onEncoded(encoded(id));
    const ready = await state(id, owner);
    await p().onProgress(progress(id, 50));
    await p().onUploaded(uploaded(id, owner));
    const second = { ...encoded(id), duration_seconds: 99, hls_key: `videos/${id}/other.m3u8` };
    await p().onEncoded(second);
    await p().onFailed(failed(id, 'encode', 'too late'));
    await p().onFailed(failed(id, 'upload', 'too late'));
    const after = await state(id, owner);
    expect(after).toMatchObject({ status: VideoStatus.READY, progress: 100, durationSeconds: 12.48 });
    expect(after.playback?.hlsUrl).toBe(ready.playback?.hlsUrl);
    expect(after.updatedAt).toEqual(ready.updatedAt);
    expect(after.publishedAt).toEqual(ready.publishedAt);
  });

  it('keeps an encode failure final, with its reason for the owner', async () => {
    const { owner, id } = await fresh();
    await p().onUploaded(uploaded(id, owner));
    await p().onProgress(progress(id, 40));
    await p().onFailed(failed(id, 'encode', 'no decodable video stream'));
    await p().onFailed(failed(id, 'encode', 'no decodable video stream'));
    await p().onProgress(progress(id, 80));
    await p().onEncoded(encoded(id));
    await p().onUploaded(uploaded(id, owner));
    expect(await state(id, owner)).toMatchObject({
      status: VideoStatus.FAILED,
      failureReason: 'no decodable video stream',
      progress: 40,
    });
  });

  it('accepts the encoder’s events before video.uploaded.v1, which then only records the source', async () => {
    const { owner, id } = await fresh();
    await p().onProgress(progress(id, 20));
    expect((await state(id, owner)).status).toBe(VideoStatus.PROCESSING);
    await p().onUploaded(uploaded(id, owner));
    expect(await state(id, owner)).toMatchObject({ status: VideoStatus.PROCESSING, progress: 20 });
    await p().onEncoded(encoded(id));
    expect((await state(id, owner)).status).toBe(VideoStatus.READY);

    const other = await fresh();
    await p().onEncoded(encoded(other.id));
    await p().onProgress(progress(other.id, 70));
    await p().onUploaded(uploaded(other.id, other.owner));
    expect(await state(other.id, other.owner)).toMatchObject({
      status: VideoStatus.READY,
      progress: 100,
      durationSeconds: 12.48,
    });
    // The source was recorded all the same: deleting reports it.
    await h.client.deleteVideo({ videoId: other.id, actorId: other.owner });
    await eventually(async () => {
      expect(h.publishedOf('video.deleted.v1').find((e) => e.video_id === other.id)?.source_key).toBe(
        `uploads/${other.id}/source`,
      );
    });
  });

  it('orders the events of two upload attempts by their time', async () => {
    const { owner, id } = await fresh();
    const t0 = Date.now();
    const firstFailure = failed(id, 'upload', 'connection lost', new Date(t0));
    // The first attempt failed; the owner uploads again; a redelivery of the old failure changes nothing.
    await p().onFailed(firstFailure);
    await h.client.authorizeUpload({ videoId: id, actorId: owner });
    await p().onFailed(firstFailure);
    expect((await state(id, owner)).status).toBe(VideoStatus.DRAFT);
    // The second attempt lands; the old failure, delivered once more, still changes nothing.
    await p().onUploaded(uploaded(id, owner, new Date(t0 + 1000)));
    await p().onFailed(firstFailure);
    expect((await state(id, owner)).status).toBe(VideoStatus.UPLOADED);

    // Crossed the other way: the failure of attempt 1 arrives after attempt 2 started, then attempt 2 lands.
    const b = await fresh();
    await h.client.authorizeUpload({ videoId: b.id, actorId: b.owner });
    await p().onFailed(failed(b.id, 'upload', 'attempt 1 failed', new Date(t0)));
    expect((await state(b.id, b.owner)).status).toBe(VideoStatus.FAILED);
    await p().onUploaded(uploaded(b.id, b.owner, new Date(t0 + 1000)));
    expect(await state(b.id, b.owner)).toMatchObject({ status: VideoStatus.UPLOADED, failureReason: '' });
    // An uploaded event older than the failure does not undo it.
    const c = await fresh();
    await p().onFailed(failed(c.id, 'upload', 'broken', new Date(t0 + 5000)));
    await p().onUploaded(uploaded(c.id, c.owner, new Date(t0)));
    expect((await state(c.id, c.owner)).status).toBe(VideoStatus.FAILED);
  });

  it('ignores events for unknown and deleted videos, and logs them', async () => {
    const ghost = newId('vid');
    await p().onUploaded(uploaded(ghost, newOwner()));
    await p().onProgress(progress(ghost, 50));
    await p().onEncoded(encoded(ghost));
    await p().onFailed(failed(ghost, 'encode', 'x'));
    const { owner, id } = await fresh();
    await h.client.deleteVideo({ videoId: id, actorId: owner });
    await p().onEncoded(encoded(id));
    const warnings = logLines
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'event for an unknown or deleted video ignored');
    expect(warnings.filter((w) => w.videoId === ghost).map((w) => w.event)).toEqual([
      'video.uploaded.v1',
      'video.progress.v1',
      'video.encoded.v1',
      'video.failed.v1',
    ]);
    expect(warnings.some((w) => w.videoId === id && w.event === 'video.encoded.v1')).toBe(true);
  });

  it('dead-letters an encoded event naming outputs outside videos/<id>/', async () => {
    const { owner, id } = await fresh();
    await p().onUploaded(uploaded(id, owner));
    await expect(p().onEncoded({ ...encoded(id), hls_key: 'videos/vid_other/master.m3u8' })).rejects.toThrow(
      /outside videos/,
    );
    await expect(p().onEncoded({ ...encoded(id), poster_key: `videos/${id}/../x.jpg` })).rejects.toThrow();
    expect((await state(id, owner)).status).toBe(VideoStatus.UPLOADED);
  });

  it('applies the events it receives from the bus, duplicates included', async () => {
    const events = typedEvents(h.bus, eventSchemas);
    const { owner, id } = await fresh();
    await events.publish('video.uploaded.v1', uploaded(id, owner));
    await eventually(async () => expect((await state(id, owner)).status).toBe(VideoStatus.UPLOADED));
    for (const percent of [25, 50, 50, 75]) await events.publish('video.progress.v1', progress(id, percent));
    await eventually(async () => expect((await state(id, owner)).progress).toBe(75));
    const done = encoded(id);
    await events.publish('video.encoded.v1', done);
    await events.publish('video.encoded.v1', done);
    await events.publish('video.progress.v1', progress(id, 90));
    await eventually(async () => expect((await state(id, owner)).status).toBe(VideoStatus.READY));
    // The late progress event has been handled by now too, and changed nothing.
    await events.publish('video.failed.v1', failed(id, 'encode', 'late'));
    await new Promise((r) => setTimeout(r, 100));
    expect(await state(id, owner)).toMatchObject({ status: VideoStatus.READY, progress: 100 });
    expect(await h.bus.deadLetters('catalog')).toEqual([]);
  });
});
