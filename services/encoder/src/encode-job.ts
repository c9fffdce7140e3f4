/**
 * The `video.uploaded.v1` handler: one video from source to stored HLS/DASH.
 *
 *   encoded.json exists? ─yes─> publish its payload again (idempotent redelivery)
 *        │ no
 *   delete partial outputs ─> download source ─> ffprobe ─> plan ─> ffmpeg (progress)
 *   ─> poster + storyboard ─> read manifests ─> upload ─> encoded.json ─> video.encoded.v1
 *
 * The bus acks when this resolves, so only after every output is stored.
 * Work happens in a temporary directory removed on every path. Failures are
 * retried by the bus; the last attempt (and any permanent failure) publishes
 * `video.failed.v1` first, then the message is dead-lettered.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EventData, EventSchemas } from '@wavecast/contracts/events';
import { type Envelope, PermanentError } from '@wavecast/kit/bus';
import { AppError } from '@wavecast/kit/errors';
import type { EventBus } from '@wavecast/kit/events';
import type { Logger } from '@wavecast/kit/log';
import type { Storage } from '@wavecast/kit/storage';
import { type EncoderConfig, ffprobePathFor } from './config.ts';
import { failureReason, Interrupted, PermanentFailure } from './failures.ts';
import { encodeArgs } from './ffmpeg-args.ts';
import { type EncodePlan, planEncode } from './ladder.ts';
import {
  type EncodedPayload,
  encodedPayload,
  readManifests,
  readMarker,
  uploadDir,
  videoPrefix,
  writeMarker,
} from './outputs.ts';
import { parseProbe, probeArgs } from './probe.ts';
import { createProgress, type ProgressReporter } from './progress.ts';
import { RunError, runProcess } from './runner.ts';
import { makeThumbnails } from './thumbnails.ts';

export type UploadedEvent = EventData<'video.uploaded.v1'>;

export interface EncodeJobDeps {
  events: EventBus<EventSchemas>;
  storage: Storage;
  logger: Logger;
  config: EncoderConfig;
  /** Aborted at shutdown: ffmpeg is killed and the job is retried elsewhere. */
  signal: AbortSignal;
}

/** Encodes may take 10x real time on a slow machine, and never less than 10 minutes. */
export const encodeTimeoutMs = (durationSeconds: number | null) =>
  durationSeconds === null ? 6 * 3_600_000 : Math.max(10 * 60_000, durationSeconds * 10_000);

interface Job {
  data: UploadedEvent;
  work: string;
  input: string;
  log: Logger;
  progress: ProgressReporter;
}

/** Work directories are named `wavecast-encode-<pid>-<video id>-…`, so a sweep knows whose they are. */
const WORK_PREFIX = 'wavecast-encode-';

/**
 * Removes the work directories (each a copy of a source, often gigabytes)
 * that encoders killed without a chance to clean up left in `dir`: those
 * whose process is gone. Several workers may share `dir`; a live one's
 * directories are left alone. Returns the names removed.
 */
export async function sweepStaleWork(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(/^wavecast-encode-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true, maxRetries: 3 });
    removed.push(name);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function createEncodeJob(deps: EncodeJobDeps) {
  const { events, storage, config } = deps;
  const stallTimeoutMs = config.stallTimeoutSeconds * 1000;

  async function download(job: Job): Promise<void> {
    let source: Readable;
    try {
      source = await storage.get(job.data.source_key);
    } catch (err) {
      if (AppError.is(err, 'not_found'))
        throw new PermanentFailure('the uploaded file is missing from storage');
      throw err;
    }
    await pipeline(source, createWriteStream(job.input), { signal: deps.signal });
  }

  async function probe(job: Job): Promise<{ plan: EncodePlan; duration: number | null }> {
    const { stdout } = await runProcess({
      command: ffprobePathFor(config),
      args: probeArgs(job.input),
      timeoutMs: 2 * 60_000,
      signal: deps.signal,
    });
    const source = parseProbe(stdout);
    if (!source.video && !source.audio) throw new PermanentFailure('the file has no video or audio to play');
    const fromUpload = job.data.probe.duration_seconds;
    return {
      plan: planEncode(source, config.ladder),
      duration: source.durationSeconds ?? (fromUpload > 0 ? fromUpload : null),
    };
  }

  /** Everything up to the stored outputs; returns the payload to announce. */
  async function encode(job: Job): Promise<EncodedPayload> {
    const id = job.data.video_id;
    const prefix = videoPrefix(id);
    // Leftovers of an attempt that died half-way: start clean.
    if ((await storage.list(prefix)).length > 0) await storage.deletePrefix(prefix);
    await download(job);
    const { plan, duration } = await probe(job);
    job.log.info(
      { renditions: plan.video.map((r) => r.name), audio: plan.audio.length, duration },
      'encoding',
    );
    const outputDir = join(job.work, 'out');
    await mkdir(outputDir);
    job.progress.report(0);
    await runProcess({
      command: config.ffmpegPath,
      args: encodeArgs(plan, job.input, outputDir, {
        segmentSeconds: config.segmentSeconds,
        preset: config.preset,
      }),
      timeoutMs: encodeTimeoutMs(duration),
      stallTimeoutMs,
      signal: deps.signal,
      onProgress: (p) => {
        if (duration) job.progress.report(Math.min(90, (90 * p.outTimeSeconds) / duration));
      },
    });
    const manifests = await readManifests(outputDir);
    const durationSeconds = manifests.duration ?? duration ?? 0;
    const top = plan.video[0];
    const thumbs =
      top && plan.videoIndex !== null
        ? await makeThumbnails({
            ffmpegPath: config.ffmpegPath,
            input: job.input,
            videoIndex: plan.videoIndex,
            durationSeconds,
            size: top,
            outputDir,
            signal: deps.signal,
            stallTimeoutMs,
            logger: job.log,
          })
        : { poster: null, storyboard: null };
    job.progress.report(95);

    const payload = encodedPayload({ videoId: id, plan, manifests, thumbnails: thumbs, durationSeconds });
    // A duplicate delivery may have finished this video meanwhile: keep its outputs.
    const finished = await readMarker(storage, id);
    if (finished) return finished;
    await uploadDir(storage, outputDir, prefix, deps.signal);
    await writeMarker(storage, payload);
    job.progress.report(100);
    return payload;
  }

  async function fail(job: Job, envelope: Envelope, err: unknown): Promise<never> {
    if (deps.signal.aborted || (err instanceof RunError && err.kind === 'aborted')) {
      job.log.info('encoding interrupted by shutdown; the job will be retried');
      throw new Interrupted('encoding was interrupted by a shutdown; it will be retried', { cause: err });
    }
    const reason = failureReason(err, job.input);
    const permanent = err instanceof PermanentFailure;
    const final = permanent || envelope.attempt >= config.maxAttempts;
    job.log.warn(
      { err, stderr: err instanceof RunError ? err.stderr : undefined, reason, final },
      'encoding failed',
    );
    if (final) {
      await job.progress.flush();
      // Nothing half-stored stays behind (unless a duplicate delivery finished meanwhile).
      if (!(await readMarker(storage, job.data.video_id).catch(() => null))) {
        await storage.deletePrefix(videoPrefix(job.data.video_id)).catch(() => 0);
      }
      await events.publish('video.failed.v1', {
        video_id: job.data.video_id,
        stage: 'encode',
        reason,
        failed_at: new Date().toISOString(),
      });
    }
    if (permanent) throw new PermanentError(reason);
    throw new Error(reason, { cause: err });
  }

  async function handleOne(data: UploadedEvent, envelope: Envelope): Promise<void> {
    const log = deps.logger.child({ videoId: data.video_id, attempt: envelope.attempt });
    if (deps.signal.aborted) throw new Interrupted('the encoder is shutting down; the job will be retried');
    const stored = await readMarker(storage, data.video_id);
    if (stored) {
      log.info('already encoded; announcing it again');
      await events.publish('video.encoded.v1', stored);
      return;
    }
    const work = await mkdtemp(
      join(config.tmpDir ?? tmpdir(), `${WORK_PREFIX}${process.pid}-${data.video_id}-`),
    );
    const ext = extname(data.source_key);
    const input = join(work, `source${/^\.[A-Za-z0-9]{1,5}$/.test(ext) ? ext : ''}`);
    const job: Job = {
      data,
      work,
      input,
      log,
      progress: createProgress(events, data.video_id, envelope.attempt, log),
    };
    try {
      const payload = await encode(job).catch((err: unknown) => fail(job, envelope, err));
      await job.progress.flush();
      await events.publish('video.encoded.v1', payload);
      log.info({ renditions: payload.renditions.length }, 'encoded');
    } finally {
      await rm(work, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  /**
   * The delivery of each video this worker is handling. A repeat of it (the
   * broker redelivers a job whose connection dropped while the job went on
   * here, or the reconciler re-drives a quiet video) waits for that one to
   * end, then finds its marker, instead of encoding the same video alongside
   * it and deleting its outputs as leftovers of a dead attempt.
   */
  const inProgress = new Map<string, Promise<void>>();

  return function handle(data: UploadedEvent, envelope: Envelope): Promise<void> {
    const id = data.video_id;
    const earlier = inProgress.get(id);
    if (earlier) {
      deps.logger.info(
        { videoId: id, attempt: envelope.attempt },
        'this video is being encoded here already; the repeat waits for it',
      );
    }
    const mine = (earlier ?? Promise.resolve()).catch(() => {}).then(() => handleOne(data, envelope));
    inProgress.set(id, mine);
    const forget = () => {
      if (inProgress.get(id) === mine) inProgress.delete(id);
    };
    mine.then(forget, forget);
    return mine;
  };
}
