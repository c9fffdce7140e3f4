/**
 * A repeat of a job the worker is running (a redelivery after its broker
 * connection dropped, or the reconciler re-driving the video) is the same
 * job: it waits for the running one and announces its result, instead of
 * encoding the video a second time alongside it.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bus, openBus } from '@wavecast/kit/bus';
import { openStorage, type Storage } from '@wavecast/kit/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import type { Encoder } from '../src/index.ts';
import {
  announce,
  type Outcome,
  outcomesOf,
  recordOutcomes,
  startEncoder,
  upload,
} from './support/encoder.ts';
import { makeClip } from './support/media.ts';

describe('a repeated job', () => {
  let dir: string;
  let bus: Bus;
  let storage: Storage;
  let encoder: Encoder | undefined;
  let seen: Outcome[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wavecast-encoder-repeat-'));
    bus = await openBus('memory:');
    storage = await openStorage(`file:${join(dir, 'storage')}`);
    seen = await recordOutcomes(bus);
  });
  afterEach(async () => {
    await encoder?.stop();
    await bus.close();
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('waits for the running encode of the same video and announces its result', async () => {
    const clip = join(dir, 'clip.mp4');
    await makeClip(clip, { seconds: 4, size: { width: 320, height: 180 } });
    const work = join(dir, 'work');
    // Room for two jobs at once, so the repeat is delivered while the first runs.
    ({ encoder } = await startEncoder(bus, storage, { tmpDir: work, concurrency: 2 }));
    const id = await upload(bus, storage, clip);
    await eventually(async () => expect(outcomesOf(seen, 'video.progress.v1', id).length).toBeGreaterThan(0));
    await announce(bus, id, `uploads/${id}/source.mp4`);

    await eventually(async () => expect(outcomesOf(seen, 'video.encoded.v1', id)).toHaveLength(2), 60_000);
    const [first, repeat] = outcomesOf(seen, 'video.encoded.v1', id);
    expect(repeat!.data).toEqual(first!.data);
    // One encode: its progress went 0…100 once, never restarting.
    const percents = outcomesOf(seen, 'video.progress.v1', id).map((p) => p.data.percent);
    expect(percents).toEqual([...new Set(percents)].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);
    expect(await readdir(work)).toEqual([]);
  }, 60_000);
});
