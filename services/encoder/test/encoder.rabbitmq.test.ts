/** Encoders as competing consumers of one RabbitMQ queue. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage, type Storage } from '@wavecast/kit/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AMQP_URL, BusHarness } from '../../../packages/kit/test/support/bus.ts';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import type { Encoder } from '../src/index.ts';
import { outcomesOf, recordOutcomes, startEncoder, upload } from './support/encoder.ts';
import { makeClip } from './support/media.ts';

describe('encoders on RabbitMQ', () => {
  let harness: BusHarness;
  let dir: string;
  let storage: Storage;
  const encoders: Encoder[] = [];

  beforeEach(async () => {
    harness = new BusHarness(AMQP_URL);
    dir = await mkdtemp(join(tmpdir(), 'wavecast-encoder-rabbit-'));
    storage = await openStorage(`file:${join(dir, 'storage')}`);
  });
  afterEach(async () => {
    await Promise.all(encoders.splice(0).map((e) => e.stop()));
    await harness.cleanup();
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('share the jobs of one queue: each encodes some, every job exactly once', async () => {
    const clip = join(dir, 'clip.mp4');
    await makeClip(clip, { seconds: 3, size: { width: 320, height: 180 } });
    const observer = await harness.open();
    const seen = await recordOutcomes(observer);
    const workers: Awaited<ReturnType<typeof startEncoder>>[] = [];
    for (const name of ['a', 'b']) {
      const bus = await harness.open();
      const worker = await startEncoder(bus, storage, { tmpDir: join(dir, `work-${name}`) });
      encoders.push(worker.encoder);
      workers.push(worker);
    }
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await upload(observer, storage, clip));

    await eventually(async () => {
      for (const id of ids) expect(outcomesOf(seen, 'video.encoded.v1', id)).toHaveLength(1);
    }, 90_000);
    // Each handler counts its ack just after announcing the result.
    let acks: number[] = [];
    await eventually(async () => {
      acks = await Promise.all(
        workers.map(
          async (w) =>
            (await w.metrics.busMessages.get()).values.find((v) => v.labels.outcome === 'ack')?.value ?? 0,
        ),
      );
      expect(acks.reduce((a, b) => a + b)).toBe(4);
    });
    expect(acks.every((n) => n >= 1)).toBe(true);
    expect(seen.filter((o) => o.type === 'video.failed.v1')).toEqual([]);
    console.info(`jobs per worker: ${acks.join(' + ')}`);
  }, 120_000);

  it('hands a job interrupted by a shutdown to another worker', async () => {
    const clip = join(dir, 'long.mp4');
    await makeClip(clip, { seconds: 20, size: { width: 640, height: 360 } });
    const observer = await harness.open();
    const seen = await recordOutcomes(observer);
    const first = await startEncoder(await harness.open(), storage, { tmpDir: join(dir, 'work-a') });
    const id = await upload(observer, storage, clip);
    await eventually(async () => {
      expect(outcomesOf(seen, 'video.progress.v1', id).some((p) => p.data.percent >= 10)).toBe(true);
    }, 60_000);
    await first.encoder.stop();

    const second = await startEncoder(await harness.open(), storage, { tmpDir: join(dir, 'work-b') });
    encoders.push(second.encoder);
    await eventually(async () => expect(outcomesOf(seen, 'video.encoded.v1', id)).toHaveLength(1), 90_000);
    const attempts = new Set(outcomesOf(seen, 'video.progress.v1', id).map((p) => p.data.attempt));
    expect([...attempts]).toEqual([1, 2]);
    expect(seen.filter((o) => o.type === 'video.failed.v1')).toEqual([]);
  }, 180_000);
});
