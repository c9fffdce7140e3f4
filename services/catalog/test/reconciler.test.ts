/**
 * The reconciler, on PGlite + memory and on PostgreSQL + Redis: a video that
 * stays UPLOADED or PROCESSING without a sign of life gets its
 * video.uploaded.v1 published again, once per interval, from what the first
 * one said; healthy and finished videos are left alone.
 */
import { VideoStatus } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import {
  backends,
  createVideo,
  encoded,
  type Harness,
  newOwner,
  openHarness,
  progress,
  uploaded,
} from './support/harness.ts';

const MINUTE = 60_000;

describe.each(backends)('reconciler on $name', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(backend, { reconcileIntervalSeconds: 60, stuckAfterSeconds: 600 });
  });
  afterAll(() => h?.close());

  const republished = (videoId: string) =>
    h.publishedOf('video.uploaded.v1').filter((e) => e.video_id === videoId);
  /** Runs a pass and lets its events reach the test's subscriber. */
  const pass = async () => {
    const n = await h.instance.reconciler.reconcile();
    await new Promise((r) => setTimeout(r, 50));
    return n;
  };

  it('re-publishes a stuck video once per interval, as the uploads service first described it', async () => {
    const owner = newOwner();
    const v = await createVideo(h, owner);
    const first = uploaded(v.id, owner, new Date(h.now().getTime() - 1000));
    await h.instance.pipeline.onUploaded(first);
    await pass();
    expect(republished(v.id)).toEqual([]);

    h.advance(11 * MINUTE);
    expect(await pass()).toBeGreaterThanOrEqual(1);
    await eventually(async () => expect(republished(v.id)).toEqual([first]));
    // Within the interval: not again, however often the reconciler runs.
    await pass();
    h.advance(30_000);
    await pass();
    expect(republished(v.id)).toHaveLength(1);
    h.advance(31_000);
    await pass();
    await eventually(async () => expect(republished(v.id)).toEqual([first, first]));

    // The republished event comes back to the catalog itself and changes nothing.
    await h.instance.pipeline.onUploaded(first);
    expect((await h.client.getVideo({ videoId: v.id, viewerId: owner })).video?.status).toBe(
      VideoStatus.UPLOADED,
    );
  });

  it('watches PROCESSING videos by their last progress, and leaves finished ones alone', async () => {
    const owner = newOwner();
    const busy = await createVideo(h, owner);
    const quiet = await createVideo(h, owner);
    const done = await createVideo(h, owner);
    for (const v of [busy, quiet, done]) await h.instance.pipeline.onUploaded(uploaded(v.id, owner, h.now()));
    await h.instance.pipeline.onProgress(progress(quiet.id, 10, h.now()));
    await h.instance.pipeline.onEncoded(encoded(done.id));
    // Nine minutes of progress on one video; silence on the other.
    for (let minute = 1; minute <= 9; minute++) {
      h.advance(MINUTE);
      await h.instance.pipeline.onProgress(progress(busy.id, minute * 10, h.now()));
    }
    h.advance(2 * MINUTE);
    await pass();
    await eventually(async () => expect(republished(quiet.id)).toHaveLength(1));
    expect(republished(busy.id)).toEqual([]);
    expect(republished(done.id)).toEqual([]);
    // A repeated (not higher) progress still counts as a sign of life.
    h.advance(9 * MINUTE);
    await h.instance.pipeline.onProgress(progress(busy.id, 90, h.now(), 2));
    h.advance(2 * MINUTE);
    await pass();
    expect(republished(busy.id)).toEqual([]);
  });

  it('ignores progress times from the future', async () => {
    const owner = newOwner();
    const v = await createVideo(h, owner);
    await h.instance.pipeline.onUploaded(uploaded(v.id, owner, h.now()));
    await h.instance.pipeline.onProgress(progress(v.id, 10, new Date(h.now().getTime() + 24 * 60 * MINUTE)));
    h.advance(11 * MINUTE);
    await pass();
    await eventually(async () => expect(republished(v.id)).toHaveLength(1));
  });

  it('re-drives each stuck video once when two instances reconcile at the same time', async () => {
    const owner = newOwner();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const v = await createVideo(h, owner);
      await h.instance.pipeline.onUploaded(uploaded(v.id, owner, h.now()));
      ids.push(v.id);
    }
    h.advance(11 * MINUTE);
    await Promise.all([h.instance.reconciler.reconcile(), h.instance.reconciler.reconcile()]);
    await new Promise((r) => setTimeout(r, 100));
    for (const id of ids) await eventually(async () => expect(republished(id)).toHaveLength(1));
  });
});
