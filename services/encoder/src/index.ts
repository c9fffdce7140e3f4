/**
 * The encoder worker of the VOD pipeline: consumes `video.uploaded.v1` as a
 * work queue (group `encoder`: competing consumers, `concurrency` jobs per
 * worker) and turns each source into HLS + DASH under `videos/<id>/`.
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { eventSchemas } from '@wavecast/contracts/events';
import { type Bus, PermanentError, type Subscription } from '@wavecast/kit/bus';
import { typedEvents } from '@wavecast/kit/events';
import type { Logger } from '@wavecast/kit/log';
import type { Metrics } from '@wavecast/kit/metrics';
import type { Storage } from '@wavecast/kit/storage';
import { type EncoderConfig, ffprobePathFor } from './config.ts';
import { createEncodeJob, sweepStaleWork } from './encode-job.ts';
import { RunError, runProcess } from './runner.ts';

export { defaultEncoderConfig, type EncoderConfig, encoderConfigSpec } from './config.ts';

/** The bus group whose queue holds the encoding jobs. */
export const ENCODER_GROUP = 'encoder';
/** The group that removes the outputs of deleted videos. */
export const ENCODER_CLEANUP_GROUP = 'encoder.cleanup';

export interface EncoderDeps {
  bus: Bus;
  storage: Storage;
  logger: Logger;
  metrics: Metrics;
  config: EncoderConfig;
}

export interface Encoder {
  /** Resolves when the bus and storage answer. */
  ready(): Promise<void>;
  /** Stops consuming, kills running ffmpegs (their jobs are retried) and waits for the handlers. */
  stop(): Promise<void>;
}

/** Fails with one readable line when ffmpeg or ffprobe cannot run here. */
async function checkTools(config: EncoderConfig): Promise<void> {
  const tools = [
    { command: config.ffmpegPath, variable: 'FFMPEG_PATH' },
    { command: ffprobePathFor(config), variable: 'FFPROBE_PATH' },
  ];
  for (const { command, variable } of tools) {
    try {
      await runProcess({ command, args: ['-version'], timeoutMs: 30_000 });
    } catch (err) {
      const why = err instanceof RunError ? err.message : String(err);
      throw new Error(`${command} cannot run (${why}); install ffmpeg or set ${variable}`);
    }
  }
}

export async function createEncoder(deps: EncoderDeps): Promise<Encoder> {
  const { bus, storage, config } = deps;
  await checkTools(config);
  await mkdir(config.tmpDir ?? tmpdir(), { recursive: true });
  const swept = await sweepStaleWork(config.tmpDir ?? tmpdir());
  if (swept.length > 0)
    deps.logger.info({ removed: swept }, 'removed the work of encoders that died mid-job');
  const shutdown = new AbortController();
  const events = typedEvents(bus, eventSchemas);
  const handle = createEncodeJob({ events, storage, logger: deps.logger, config, signal: shutdown.signal });
  const count = (outcome: 'ack' | 'retry' | 'dead') =>
    deps.metrics.busMessages.inc({ service: 'encoder', queue: ENCODER_GROUP, outcome });

  const subscription: Subscription = await events.subscribe(
    ENCODER_GROUP,
    {
      'video.uploaded.v1': async (data, envelope) => {
        try {
          await handle(data, envelope);
          count('ack');
        } catch (err) {
          const dead = err instanceof PermanentError || envelope.attempt >= config.maxAttempts;
          count(dead ? 'dead' : 'retry');
          throw err;
        }
      },
    },
    { prefetch: config.concurrency, maxAttempts: config.maxAttempts, backoffMs: config.retryBackoffMs },
  );
  // A deleted video's outputs go with it (idempotent: deleting nothing is fine).
  const cleanup: Subscription = await events.subscribe(ENCODER_CLEANUP_GROUP, {
    'video.deleted.v1': async (data) => {
      const removed = await storage.deletePrefix(`videos/${data.video_id}/`);
      deps.logger.info({ videoId: data.video_id, removed }, 'deleted the outputs of a deleted video');
    },
  });
  deps.logger.info({ concurrency: config.concurrency, preset: config.preset }, 'encoder is consuming');

  let stopping: Promise<void> | undefined;
  return {
    ready: async () => {
      await Promise.all([bus.ping(), storage.ping()]);
    },
    stop() {
      stopping ??= (async () => {
        const closed = subscription.close(); // no new jobs; waits for running handlers
        shutdown.abort();
        await Promise.all([closed, cleanup.close()]);
      })();
      return stopping;
    },
  };
}
