/**
 * Runs and supervises the one ffmpeg of a live stream. It plans the ladder
 * from the first decoder configuration, restarts ffmpeg (with backoff) when it
 * dies or stalls without ending the stream, and never leaves a process behind:
 * ffmpeg reads stdin and writes pipes, so it also exits if this process dies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '@wavecast/kit/log';
import { avcConfigDimensions } from './avc.ts';
import { FlvPrimer, KeyframeGate } from './feeder.ts';
import { liveTranscodeArgs, type ThumbnailOptions } from './ffmpeg-args.ts';
import { avcConfig, FlvReader, type FlvTag } from './flv-reader.ts';
import { planRenditions, type Rendition, type Rung } from './ladder.ts';

/** FLV queued for ffmpeg's stdin beyond this pauses the publisher (a socket's 16 KB would pause at every keyframe). */
const MAX_QUEUED_BYTES = 1024 * 1024;
/** Longest a tag waits to be written to ffmpeg with the next ones. */
const BATCH_MS = 20;

export interface TranscoderOptions {
  ffmpegPath: string;
  ladder: Rung[];
  passthroughOnly: boolean;
  segmentSeconds: number;
  partMs: number;
  preset: string;
  logger: Logger;
  /** No output from ffmpeg for this long while input flows: kill and restart (default 10 s). */
  stallTimeoutMs?: number;
  /** ffmpeg also renders JPEGs of the picture (`TranscoderOutputs.thumbnails`). */
  thumbnail?: ThumbnailOptions;
}

export interface TranscoderOutputs {
  renditions: Rendition[];
  /** One fMP4 stream per rendition, in the order of `renditions`. */
  streams: Readable[];
  /** 0 for the first ffmpeg, +1 per restart: a new generation is a discontinuity. */
  generation: number;
  /** JPEGs one after the other, when asked for; must be read, or ffmpeg stops. */
  thumbnails: Readable | undefined;
}

/**
 * Events: 'outputs' (TranscoderOutputs) each time an ffmpeg starts, 'restart'
 * ({ reason }) before a restart.
 */
export class LiveTranscoder extends EventEmitter {
  readonly #opts: TranscoderOptions;
  readonly #reader = new FlvReader();
  readonly #primer = new FlvPrimer();
  readonly #gate = new KeyframeGate();
  #pending: FlvTag[] = [];
  #batch: Buffer[] = [];
  #batchTimer: NodeJS.Timeout | undefined;
  #renditions: Rendition[] | undefined;
  #child: ChildProcess | undefined;
  #generation = -1;
  #restarts = 0;
  #lastOutput = Date.now();
  #stallTimer: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #input: Readable | undefined;

  constructor(opts: TranscoderOptions) {
    super();
    this.#opts = opts;
  }

  get renditions(): Rendition[] | undefined {
    return this.#renditions;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** The process id of the current ffmpeg, for tests and diagnostics. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Consumes the publisher's FLV until it ends. */
  start(flv: Readable): void {
    this.#input = flv;
    flv.on('data', (chunk: Buffer) => this.#onData(chunk));
    flv.on('error', (err) => this.#opts.logger.warn({ err }, 'publisher stream failed'));
    const stallMs = this.#opts.stallTimeoutMs ?? 10_000;
    this.#stallTimer = setInterval(
      () => {
        if (this.#child && Date.now() - this.#lastOutput > stallMs) {
          this.#opts.logger.warn({ stallMs }, 'ffmpeg produced nothing; restarting it');
          this.#child.kill('SIGKILL');
        }
      },
      Math.min(1_000, stallMs),
    );
  }

  #onData(chunk: Buffer): void {
    let tags: FlvTag[];
    try {
      tags = this.#reader.push(chunk);
    } catch (err) {
      this.#opts.logger.warn({ err }, 'publisher sent a malformed FLV stream');
      this.#input?.destroy(err as Error);
      return;
    }
    this.#primer.header ??= this.#reader.header;
    for (const tag of tags) {
      const isConfig = this.#primer.observe(tag);
      if (!this.#renditions) {
        // Plan at the first media tag: every configuration tag (video AND audio) has been seen by then.
        if (!isConfig) {
          this.#pending.push(tag);
          this.#maybePlan();
        }
        continue;
      }
      if (isConfig) continue; // a new configuration mid-stream reaches ffmpeg through a restart
      this.#write(tag);
    }
  }

  #maybePlan(): void {
    const config = this.#primer.videoConfig;
    if (!config) {
      // Bound what is held while waiting for the decoder configuration.
      if (this.#pending.length > 2_000) this.#pending.shift();
      return;
    }
    const record = avcConfig(config);
    let source = { width: 0, height: 0 };
    try {
      if (record) source = avcConfigDimensions(record);
    } catch (err) {
      this.#opts.logger.warn({ err }, 'could not read the picture size; passing the source through only');
    }
    const passthroughOnly = this.#opts.passthroughOnly || source.height === 0;
    this.#renditions = planRenditions(source, this.#opts.ladder, passthroughOnly);
    this.#spawn();
    for (const tag of this.#pending.splice(0)) this.#write(tag);
  }

  #write(tag: FlvTag): void {
    if (!this.#child?.stdin || !this.#gate.admits(tag)) return;
    // Tags go to the pipe in batches: a write to a pipe costs far more than its bytes (~75 tags
    // a second per stream, each a system call and a wake-up of ffmpeg, was a quarter of the main
    // thread at 30 streams). A batch waits at most BATCH_MS, less than a frame.
    this.#batch.push(tag.raw);
    this.#batchTimer ??= setTimeout(() => this.#flush(), BATCH_MS);
  }

  #flush(): void {
    this.#batchTimer = undefined;
    const stdin = this.#child?.stdin;
    const batch = this.#batch;
    this.#batch = [];
    if (!stdin || batch.length === 0) return;
    stdin.cork();
    for (const raw of batch) stdin.write(raw);
    stdin.uncork(); // one writev
    if (stdin.writableLength > MAX_QUEUED_BYTES && this.#input && !this.#input.isPaused()) {
      // ffmpeg is behind: stop reading the publisher until it catches up.
      this.#input.pause();
      stdin.once('drain', () => this.#input?.resume());
    }
  }

  #spawn(): void {
    const renditions = this.#renditions!;
    const args = liveTranscodeArgs(renditions, this.#opts);
    const pipes = renditions.length + (this.#opts.thumbnail ? 1 : 0);
    const stdio: ('pipe' | 'ignore')[] = ['pipe', 'ignore', 'pipe', ...Array<'pipe'>(pipes).fill('pipe')];
    const child = spawn(this.#opts.ffmpegPath, args, { stdio });
    this.#child = child;
    this.#generation++;
    this.#gate.reset();
    this.#batch = []; // tags meant for the previous ffmpeg
    this.#lastOutput = Date.now();
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2_000);
    });
    const stdin = child.stdin as Writable;
    stdin.on('error', () => undefined); // EPIPE when ffmpeg dies; handled on 'exit'
    stdin.write(this.#primer.prelude());
    const streams = renditions.map((_, i) => child.stdio[3 + i] as Readable);
    for (const s of streams) {
      s.on('data', () => {
        this.#lastOutput = Date.now();
      });
      s.on('error', () => undefined);
    }
    const thumbnails = this.#opts.thumbnail ? (child.stdio[3 + renditions.length] as Readable) : undefined;
    thumbnails?.on('error', () => undefined);
    child.on('error', (err) => this.#opts.logger.error({ err }, 'ffmpeg could not be started'));
    child.on('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      this.#input?.resume();
      if (this.#stopped) return;
      this.#restarts++;
      const delay = Math.min(5_000, 250 * 2 ** Math.min(this.#restarts - 1, 5));
      this.#opts.logger.warn(
        { code, signal, stderr: stderr.trim().split('\n').slice(-3), delay },
        'ffmpeg exited; restarting',
      );
      this.emit('restart', { reason: `ffmpeg exited (${signal ?? code})` });
      this.#restartTimer = setTimeout(() => {
        if (!this.#stopped) this.#spawn();
      }, delay);
    });
    const outputs: TranscoderOutputs = { renditions, streams, generation: this.#generation, thumbnails };
    this.emit('outputs', outputs);
  }

  /** Kills the current ffmpeg; it is restarted like after a crash. */
  kill(): void {
    this.#child?.kill('SIGKILL');
  }

  /** Ends ffmpeg (EOF, then SIGKILL after `graceMs`) and resolves when it is gone. */
  async stop(graceMs = 2_000): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#stallTimer);
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#batchTimer);
    this.#flush(); // the last tags, before EOF
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
