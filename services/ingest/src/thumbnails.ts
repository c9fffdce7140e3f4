/**
 * A JPEG of a live channel, refreshed from its newest segment at most every
 * `intervalMs`: one short ffmpeg run on init + segment bytes, with a timeout.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '@wavecast/kit/log';
import type { CompletedSegment } from './hls/index.ts';
import { thumbnailArgs } from './transcode/ffmpeg-args.ts';

/** One JPEG from the first frame of init + segment; rejects after `timeoutMs`. */
export function renderThumbnail(
  ffmpegPath: string,
  init: Buffer,
  segment: Buffer,
  height: number,
  timeoutMs = 10_000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, thumbnailArgs(height), { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdin.on('error', () => undefined);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const jpeg = Buffer.concat(chunks);
      if (code === 0 && jpeg.length > 0) resolve(jpeg);
      else reject(new Error(`thumbnail ffmpeg failed (${signal ?? code})`));
    });
    child.stdin.end(Buffer.concat([init, segment]));
  });
}

export class Thumbnailer {
  readonly #ffmpegPath: string;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #busy = false;
  #lastAt = 0;
  jpeg: Buffer | undefined;
  /** Bumped on every new JPEG, so its URL changes and caches stay right. */
  version = 0;

  constructor(ffmpegPath: string, intervalMs: number, log: Logger) {
    this.#ffmpegPath = ffmpegPath;
    this.#intervalMs = intervalMs;
    this.#log = log;
  }

  offer(segment: CompletedSegment): void {
    if (this.#busy || Date.now() - this.#lastAt < this.#intervalMs) return;
    this.#busy = true;
    this.#lastAt = Date.now();
    renderThumbnail(this.#ffmpegPath, segment.init, segment.bytes, 360)
      .then((jpeg) => {
        this.jpeg = jpeg;
        this.version++;
      })
      .catch((err) => this.#log.warn({ err }, 'thumbnail failed'))
      .finally(() => {
        this.#busy = false;
      });
  }
}
