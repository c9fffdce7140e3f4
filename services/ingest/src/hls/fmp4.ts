/**
 * An incremental parser for a fragmented MP4 byte stream (ffmpeg's
 * `-f mp4 -movflags +frag_keyframe+empty_moov+default_base_moof` on a pipe).
 * Chunks may split boxes anywhere. It reports the initialization segment
 * (`ftyp` + `moov`) once per stream start and each `moof` + `mdat` pair as a
 * fragment, described by its primary track: the first video track, else the
 * first audio track.
 */
import { AppError } from '@wavecast/kit/errors';
import { Slab } from '../slab.ts';
import { readHeader } from './bmff.ts';
import { parseMoof, parseMoov, type Track, type TrackDefaults, type TrackRun } from './boxes.ts';

export type { Track, TrackRun } from './boxes.ts';

export interface InitSegment {
  /** `ftyp` + `moov`, served as the EXT-X-MAP. */
  bytes: Buffer;
  tracks: Track[];
}

export interface Fragment {
  /** `moof` + `mdat` (preceded by any `styp`/`prft`/`emsg` boxes that came before them). */
  bytes: Buffer;
  sequenceNumber: number;
  /** Decode time of the primary track's first sample, in seconds. */
  decodeTime: number;
  /** Sum of the primary track's sample durations, in seconds. */
  duration: number;
  /** The primary track's first sample is a sync sample (a keyframe for video). */
  independent: boolean;
  /** Samples of the primary track (video frames when there is video). */
  sampleCount: number;
  /** Every track in the fragment, in the track's own timescale. */
  runs: TrackRun[];
}

export interface Fmp4Handlers {
  init(init: InitSegment): void;
  fragment(fragment: Fragment): void;
  /** `fatal`: the byte stream cannot be framed any more; the parser ignores further input until `reset()`. */
  error(err: AppError, fatal: boolean): void;
}

export interface Fmp4ParserOptions {
  /** Largest box accepted (an `mdat` holds one fragment); bounds the bytes buffered. Default 32 MiB. */
  maxBoxBytes?: number;
}

/** Boxes kept in front of the next fragment; anything else outside moov/moof/mdat is dropped. */
const prefixBoxes = new Set(['styp', 'prft', 'emsg']);

export class Fmp4Parser {
  readonly #handlers: Fmp4Handlers;
  readonly #maxBoxBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #failed = false;
  #ftyp: Buffer | undefined;
  #init: { tracks: Track[]; defaults: Map<number, TrackDefaults>; primary: Track | undefined } | undefined;
  #moof: { bytes: Buffer; sequenceNumber: number; runs: TrackRun[] } | undefined;
  #skipMdat = false;
  #prefix: Buffer[] = [];
  /** Fragments, kept for the DVR window and dropped in the order they came. */
  readonly #slab = new Slab(1024 * 1024);

  constructor(handlers: Fmp4Handlers, options: Fmp4ParserOptions = {}) {
    this.#handlers = handlers;
    this.#maxBoxBytes = options.maxBoxBytes ?? 32 * 1024 * 1024;
  }

  /** Bytes held while waiting for the rest of a box. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Forgets everything, as for a new stream (a restarted ffmpeg writing to a new pipe). */
  reset(): void {
    this.#chunks = [];
    this.#buffered = 0;
    this.#failed = false;
    this.#ftyp = undefined;
    this.#init = undefined;
    this.#moof = undefined;
    this.#skipMdat = false;
    this.#prefix = [];
  }

  /** The next bytes of the stream. The chunk is referenced, not copied: don't reuse its memory. */
  push(chunk: Uint8Array): void {
    if (this.#failed || chunk.length === 0) return;
    this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.#buffered += chunk.length;
    for (;;) {
      const head = this.#peek(16);
      let header: ReturnType<typeof readHeader>;
      try {
        header = readHeader(head, 0, head.length);
      } catch (err) {
        this.#fail(`not a fragmented MP4 stream (${(err as Error).message})`);
        return;
      }
      if (!header) return;
      const { type, size, headerSize } = header;
      if (!/^[\x20-\x7e]{4}$/.test(type) || size < headerSize || size > this.#maxBoxBytes) {
        const why = size === 0 ? 'a box without a size' : `a ${JSON.stringify(type)} box of ${size} bytes`;
        this.#fail(`not a fragmented MP4 stream (${why})`);
        return;
      }
      if (this.#buffered < size) return;
      if (type === 'mdat') this.#onMdat(size);
      else this.#box(type, this.#take(size));
    }
  }

  #fail(message: string): void {
    this.#failed = true;
    this.#chunks = [];
    this.#buffered = 0;
    this.#handlers.error(new AppError('invalid_argument', message), true);
  }

  #error(message: string, cause?: unknown): void {
    this.#handlers.error(new AppError('invalid_argument', message, { cause }), false);
  }

  #box(type: string, box: Buffer): void {
    switch (type) {
      case 'ftyp':
        this.#init = undefined;
        this.#moof = undefined;
        this.#prefix = [];
        this.#ftyp = box;
        return;
      case 'moov':
        this.#onMoov(box);
        return;
      case 'moof':
        this.#onMoof(box);
        return;
      default:
        if (prefixBoxes.has(type) && this.#prefix.length < 16) this.#prefix.push(Buffer.from(box));
    }
  }

  #onMoov(box: Buffer): void {
    try {
      const { tracks, defaults } = parseMoov(box);
      const primary = tracks.find((t) => t.kind === 'video') ?? tracks[0];
      this.#init = { tracks, defaults, primary };
      const bytes = Buffer.concat(this.#ftyp ? [this.#ftyp, box] : [box]);
      this.#ftyp = undefined;
      this.#handlers.init({ bytes, tracks });
    } catch (err) {
      this.#fail(`unreadable moov box: ${(err as Error).message}`);
    }
  }

  #onMoof(box: Buffer): void {
    if (this.#moof) this.#error('moof without its mdat; dropped');
    this.#moof = undefined;
    this.#skipMdat = true;
    if (!this.#init) {
      this.#error('moof before the initialization segment; dropped');
      return;
    }
    try {
      this.#moof = { bytes: box, ...parseMoof(box, this.#init.defaults) };
    } catch (err) {
      this.#prefix = [];
      this.#error(`unreadable moof box; fragment dropped: ${(err as Error).message}`, err);
    }
  }

  /** The `mdat` of `size` bytes at the front of the buffer completes a fragment. */
  #onMdat(size: number): void {
    const moof = this.#moof;
    const init = this.#init;
    this.#moof = undefined;
    if (!moof || !init) {
      this.#skip(size);
      if (!this.#skipMdat) this.#error('mdat without a moof; dropped');
      this.#skipMdat = false;
      return;
    }
    this.#skipMdat = false;
    const primaryId = init.primary?.id;
    const primary = moof.runs.find((r) => r.trackId === primaryId);
    const timed = primary ?? moof.runs[0];
    const timescale = init.tracks.find((t) => t.id === timed?.trackId)?.timescale ?? 1;
    // The fragment's one copy: prefix, moof and the mdat straight out of the pipe's chunks.
    const head = [...this.#prefix, moof.bytes];
    const headSize = head.reduce((sum, b) => sum + b.length, 0);
    const bytes = this.#slab.alloc(headSize + size);
    let at = 0;
    for (const b of head) at += b.copy(bytes, at);
    this.#takeInto(bytes, at, size);
    this.#prefix = [];
    this.#handlers.fragment({
      bytes,
      sequenceNumber: moof.sequenceNumber,
      decodeTime: (timed?.baseMediaDecodeTime ?? 0) / timescale,
      duration: (timed?.duration ?? 0) / timescale,
      independent: primary?.firstSampleSync ?? false,
      sampleCount: primary?.sampleCount ?? 0,
      runs: moof.runs,
    });
  }

  /** Up to `n` bytes from the front of the buffer, without consuming them. */
  #peek(n: number): Buffer {
    const first = this.#chunks[0];
    if (!first || first.length >= n || this.#chunks.length === 1) return first ?? Buffer.alloc(0);
    const head: Buffer[] = [];
    for (let i = 0, got = 0; i < this.#chunks.length && got < n; i++) {
      head.push(this.#chunks[i]!);
      got += this.#chunks[i]!.length;
    }
    return Buffer.concat(head);
  }

  /** Removes and returns exactly `n` buffered bytes (a view when they lie in one chunk). */
  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      this.#buffered -= n;
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    return this.#takeInto(Buffer.allocUnsafe(n), 0, n);
  }

  /** Removes `n` buffered bytes, copying them into `out` at `offset` (or nowhere). */
  #takeInto<T extends Buffer | undefined>(out: T, offset: number, n: number): T {
    this.#buffered -= n;
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0]!;
      const used = Math.min(chunk.length, n - filled);
      if (out) chunk.copy(out, offset + filled, 0, used);
      filled += used;
      if (used === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
    }
    return out;
  }

  #skip(n: number): void {
    this.#takeInto(undefined, 0, n);
  }
}
