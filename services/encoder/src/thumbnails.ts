/**
 * The poster (one frame at 10% of the video) and the storyboard sprite (a
 * small tile every few seconds, for seek previews), each a quick ffmpeg run
 * of its own. They are extras: a failure leaves them out (null in
 * `video.encoded.v1`) instead of failing the encode; only an abort propagates.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@wavecast/kit/log';
import { posterArgs, type StoryboardLayout, storyboardArgs } from './ffmpeg-args.ts';
import { RunError, runProcess } from './runner.ts';

/** Tiles fit in this box, keeping the picture's aspect ratio. */
const TILE_BOX = { width: 160, height: 90 };
const MAX_COLUMNS = 10;
/** At most this many tiles: long videos get a longer interval instead of a huge sprite. */
const MAX_TILES = 200;

export const POSTER_FILE = 'poster.jpg';
export const STORYBOARD_FILE = 'storyboard.jpg';

/** One tile per whole-second interval (at least 1 s), at most MAX_TILES, 10 per row. */
export function planStoryboard(
  durationSeconds: number,
  size: { width: number; height: number },
): StoryboardLayout {
  const intervalSeconds = Math.max(1, Math.ceil(durationSeconds / MAX_TILES));
  const count = Math.max(1, Math.ceil(durationSeconds / intervalSeconds));
  const columns = Math.min(MAX_COLUMNS, count);
  const scale = Math.min(TILE_BOX.width / size.width, TILE_BOX.height / size.height);
  const even = (n: number, max: number) => Math.min(max, Math.max(2, Math.round(n / 2) * 2));
  return {
    intervalSeconds,
    columns,
    rows: Math.ceil(count / columns),
    tileWidth: even(size.width * scale, TILE_BOX.width),
    tileHeight: even(size.height * scale, TILE_BOX.height),
  };
}

export interface ThumbnailJob {
  ffmpegPath: string;
  input: string;
  videoIndex: number;
  durationSeconds: number;
  /** The poster's size: the top rendition's. */
  size: { width: number; height: number };
  outputDir: string;
  signal: AbortSignal;
  stallTimeoutMs: number;
  logger: Logger;
}

export interface Thumbnails {
  poster: string | null;
  storyboard: { file: string; layout: StoryboardLayout } | null;
}

const exists = (path: string) =>
  stat(path).then(
    (s) => s.size > 0,
    () => false,
  );

export async function makeThumbnails(job: ThumbnailJob): Promise<Thumbnails> {
  const run = (args: string[]) =>
    runProcess({
      command: job.ffmpegPath,
      args,
      // A poster is one seek; a storyboard decodes the whole video, far faster than real time.
      timeoutMs: Math.max(5 * 60_000, job.durationSeconds * 2_000),
      stallTimeoutMs: job.stallTimeoutMs,
      signal: job.signal,
      onProgress: () => undefined,
    });
  const attempt = async <T>(what: string, make: () => Promise<T | null>): Promise<T | null> => {
    try {
      return await make();
    } catch (err) {
      if (err instanceof RunError && err.kind === 'aborted') throw err;
      job.logger.warn(
        { err, stderr: (err as RunError).stderr },
        `could not make the ${what}; leaving it out`,
      );
      return null;
    }
  };

  const poster = await attempt('poster', async () => {
    const output = join(job.outputDir, POSTER_FILE);
    // The seek can land past the last frame of an odd file: then the first frame will do.
    for (const at of [job.durationSeconds * 0.1, 0]) {
      await run(posterArgs(job.input, job.videoIndex, at, job.size, output));
      if (await exists(output)) return POSTER_FILE;
    }
    return null;
  });
  const storyboard = await attempt('storyboard', async () => {
    const layout = planStoryboard(job.durationSeconds, job.size);
    const output = join(job.outputDir, STORYBOARD_FILE);
    await run(storyboardArgs(job.input, job.videoIndex, layout, output));
    return (await exists(output)) ? { file: STORYBOARD_FILE, layout } : null;
  });
  return { poster, storyboard };
}
