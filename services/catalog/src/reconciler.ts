/**
 * Crash safety for the encoding pipeline. A video that sits in UPLOADED or
 * PROCESSING without a sign of life (a status change or a progress event)
 * for longer than `stuckAfterMs` lost its job somewhere: an encoder crashed
 * with the message acked, a queue was purged, an event was never relayed.
 * The reconciler publishes video.uploaded.v1 again from what the first one
 * said (source key, size, probe), at most once per `intervalMs` per video;
 * the encoder treats a repeat as the same job. Several catalog instances
 * reconcile side by side: each locks the rows it re-drives (SKIP LOCKED).
 */
import { eventSchemas } from '@wavecast/contracts/events';
import type { Logger } from '@wavecast/kit/log';
import { addEvent } from '@wavecast/kit/outbox';
import type { PipelineRepository } from './pipeline.repository.ts';

export interface ReconcilerDeps {
  transitions: PipelineRepository;
  logger: Logger;
  now: () => Date;
  intervalMs: number;
  stuckAfterMs: number;
  /** Called after a commit that wrote events, so the outbox relays at once. */
  onEvents?: () => void;
}

const BATCH = 100;

export class Reconciler {
  readonly #d: ReconcilerDeps;

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
  }

  /** One pass: re-drives the stuck videos due for it; returns how many. */
  async reconcile(): Promise<number> {
    const { transitions: t, logger } = this.#d;
    const now = this.#d.now();
    const ids = await t.transaction(async (trx) => {
      const stuck = await t.lockStuck(trx, {
        quietSince: new Date(now.getTime() - this.#d.stuckAfterMs),
        // A little slack: a timer firing a few ms early must not skip a whole interval.
        republishedBefore: new Date(now.getTime() - this.#d.intervalMs * 0.9),
        limit: BATCH,
      });
      for (const video of stuck) {
        const source = video.source!;
        await addEvent(trx, eventSchemas, 'video.uploaded.v1', {
          video_id: video.id,
          owner_id: video.ownerId,
          source_key: source.key,
          size_bytes: Math.max(1, source.sizeBytes),
          probe: source.probe,
          uploaded_at: source.uploadedAt.toISOString(),
        });
      }
      await t.markRepublished(
        trx,
        stuck.map((v) => v.id),
        now,
      );
      return stuck.map((v) => ({ id: v.id, status: v.status }));
    });
    if (ids.length > 0) {
      this.#d.onEvents?.();
      for (const { id, status } of ids) {
        logger.warn({ videoId: id, status }, 'video made no progress; published video.uploaded.v1 again');
      }
    }
    return ids.length;
  }

  /** Runs `reconcile` every interval until the returned function is called. */
  start(): () => void {
    const timer = setInterval(() => {
      this.reconcile().catch((err) => this.#d.logger.warn({ err }, 'reconciling stuck videos failed'));
    }, this.#d.intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
