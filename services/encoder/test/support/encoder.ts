/** An encoder on test adapters, the events it emits, and jobs for it. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type EventData, eventSchemas } from '@wavecast/contracts/events';
import type { Bus, Envelope } from '@wavecast/kit/bus';
import { typedEvents } from '@wavecast/kit/events';
import { newId } from '@wavecast/kit/ids';
import { createLogger } from '@wavecast/kit/log';
import { createMetrics, type Metrics } from '@wavecast/kit/metrics';
import type { Storage } from '@wavecast/kit/storage';
import { expect } from 'vitest';
import { eventually } from '../../../../packages/kit/test/support/poll.ts';
import { createEncoder, defaultEncoderConfig, type Encoder, type EncoderConfig } from '../../src/index.ts';

export const logger = createLogger({
  service: 'encoder-test',
  level: process.env.TEST_LOG_LEVEL ?? 'silent',
});

export async function startEncoder(
  bus: Bus,
  storage: Storage,
  overrides: Partial<EncoderConfig>,
): Promise<{ encoder: Encoder; metrics: Metrics }> {
  const metrics = createMetrics({ defaultMetrics: false });
  const config = {
    ...defaultEncoderConfig(),
    preset: 'ultrafast' as const,
    retryBackoffMs: 50,
    ...overrides,
  };
  const encoder = await createEncoder({ bus, storage, logger, metrics, config });
  return { encoder, metrics };
}

export type Outcome =
  | { type: 'video.progress.v1'; data: EventData<'video.progress.v1'>; at: number }
  | { type: 'video.encoded.v1'; data: EventData<'video.encoded.v1'>; at: number }
  | { type: 'video.failed.v1'; data: EventData<'video.failed.v1'>; at: number };

/** Records what the encoder announces, as another service's group would. */
export async function recordOutcomes(bus: Bus, group = 'observer'): Promise<Outcome[]> {
  const seen: Outcome[] = [];
  await bus.subscribe(
    group,
    ['video.progress.v1', 'video.encoded.v1', 'video.failed.v1'],
    async (e: Envelope) => {
      seen.push({ type: e.type, data: e.data, at: Date.now() } as Outcome);
    },
  );
  return seen;
}

export function outcomesOf<T extends Outcome['type']>(seen: Outcome[], type: T, videoId: string) {
  return seen.filter(
    (o): o is Extract<Outcome, { type: T }> => o.type === type && o.data.video_id === videoId,
  );
}

/** Waits for the first `encoded` or `failed` event of a video. */
export async function settled(seen: Outcome[], videoId: string, ms = 60_000): Promise<Outcome> {
  let found: Outcome | undefined;
  await eventually(async () => {
    found = seen.find((o) => o.type !== 'video.progress.v1' && o.data.video_id === videoId);
    expect(found).toBeDefined();
  }, ms);
  return found as Outcome;
}

/** Stores `file` as an upload and announces it, as the uploads service does. */
export async function upload(
  bus: Bus,
  storage: Storage,
  file: string,
  videoId = newId('vid'),
): Promise<string> {
  const sourceKey = `uploads/${videoId}/source${file.slice(file.lastIndexOf('.'))}`;
  await storage.put(sourceKey, createReadStream(file));
  await announce(bus, videoId, sourceKey, (await stat(file)).size);
  return videoId;
}

export async function announce(bus: Bus, videoId: string, sourceKey: string, size = 1): Promise<void> {
  await typedEvents(bus, eventSchemas).publish('video.uploaded.v1', {
    video_id: videoId,
    owner_id: newId('usr'),
    source_key: sourceKey,
    size_bytes: size,
    // What the uploads service saw; the encoder probes again.
    probe: {
      duration_seconds: 0,
      width: 0,
      height: 0,
      video_codec: 'h264',
      audio_codec: null,
      frame_rate: 0,
    },
    uploaded_at: new Date().toISOString(),
  });
}
