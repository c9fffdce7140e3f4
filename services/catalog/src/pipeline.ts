/**
 * The status machine, driven by the pipeline's events:
 *
 *   DRAFT -> UPLOADED (video.uploaded.v1) -> PROCESSING (video.progress.v1)
 *         -> READY (video.encoded.v1) | FAILED (video.failed.v1)
 *
 * Each transition is one conditional UPDATE, so a redelivered or late event
 * changes nothing: states only move forward, progress only grows, READY and
 * an encode failure are final. The encoder's events may overtake
 * video.uploaded.v1 (each group consumes on its own), so they apply from
 * DRAFT too, and the uploaded event then only records the source. Events for
 * unknown (or deleted) videos are logged and dropped.
 */
import type { EventData } from '@wavecast/contracts/events';
import { PermanentError } from '@wavecast/kit/bus';
import type { Logger } from '@wavecast/kit/log';
import type { PipelineRepository } from './pipeline.repository.ts';
import { isOutputKey } from './playback.ts';
import type { StoredVideo, VideoRepository } from './video.repository.ts';

export interface PipelineDeps {
  transitions: PipelineRepository;
  videos: VideoRepository;
  logger: Logger;
  now: () => Date;
}

export class VideoPipeline {
  readonly #d: PipelineDeps;

  constructor(deps: PipelineDeps) {
    this.#d = deps;
  }

  async onUploaded(e: EventData<'video.uploaded.v1'>): Promise<void> {
    const { transitions: t } = this.#d;
    const source = {
      key: e.source_key,
      sizeBytes: e.size_bytes,
      probe: e.probe,
      uploadedAt: new Date(e.uploaded_at),
    };
    const moved = await t.markUploaded(t.db, e.video_id, source, this.#d.now());
    if (moved) return this.#applied(moved, 'video.uploaded.v1');
    const filled = await t.fillSource(t.db, e.video_id, source);
    if (filled) return this.#applied(filled, 'video.uploaded.v1 (source only)');
    await this.#ignored(e.video_id, 'video.uploaded.v1');
  }

  async onProgress(e: EventData<'video.progress.v1'>): Promise<void> {
    const now = this.#d.now();
    // The encoder's clock may run ahead; a sign of life from the future would hide a stall.
    const at = new Date(Math.min(Date.parse(e.at), now.getTime()));
    const { transitions: t } = this.#d;
    const moved = await t.markProgress(t.db, e.video_id, { percent: e.percent, at }, now);
    if (!moved) await this.#ignored(e.video_id, 'video.progress.v1');
  }

  async onEncoded(e: EventData<'video.encoded.v1'>): Promise<void> {
    const keys = [e.hls_key, e.dash_key, e.poster_key, e.storyboard?.key].filter((k) => k != null);
    const outside = keys.find((key) => !isOutputKey(e.video_id, key));
    if (outside !== undefined) {
      // Playback serves videos/<id>/ only; retrying cannot fix the event.
      throw new PermanentError(`video.encoded.v1 names ${outside}, outside videos/${e.video_id}/`);
    }
    const { transitions: t } = this.#d;
    const moved = await t.markEncoded(t.db, e.video_id, e, this.#d.now());
    if (moved) return this.#applied(moved, 'video.encoded.v1');
    await this.#ignored(e.video_id, 'video.encoded.v1');
  }

  async onFailed(e: EventData<'video.failed.v1'>): Promise<void> {
    const { transitions: t } = this.#d;
    const failure = { stage: e.stage, reason: e.reason.slice(0, 1000), at: new Date(e.failed_at) };
    const moved = await t.markFailed(t.db, e.video_id, failure, this.#d.now());
    if (moved) return this.#applied(moved, 'video.failed.v1');
    await this.#ignored(e.video_id, 'video.failed.v1');
  }

  #applied(video: StoredVideo, event: string): void {
    this.#d.logger.info({ videoId: video.id, status: video.status, event }, 'video status applied');
  }

  async #ignored(videoId: string, event: string): Promise<void> {
    const { videos, logger } = this.#d;
    const video = await videos.find(videos.db, videoId);
    if (!video) {
      logger.warn({ videoId, event }, 'event for an unknown or deleted video ignored');
      return;
    }
    logger.debug({ videoId, status: video.status, event }, 'event changes nothing (repeated or late)');
  }
}
