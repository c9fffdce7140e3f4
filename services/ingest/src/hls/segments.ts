/**
 * The media of one rendition held in memory: complete segments in a sliding
 * DVR window, plus the segment being built at the live edge. It decides
 * nothing about where segments start; the packager does.
 */
import type { PlaylistSegment } from './playlist.ts';

export interface Part {
  msn: number;
  index: number;
  duration: number;
  independent: boolean;
  bytes: Buffer;
}

export interface Segment extends PlaylistSegment {
  discontinuitySequence: number;
  /** The parts listed and served; emptied for segments far enough from the live edge. */
  parts: Part[];
  /** The media once complete (joined on demand from the parts' buffers; see SegmentData). */
  readonly bytes: Buffer | undefined;
  size: number;
  /** Primary-track samples, and the seconds they span (fragments without any are left out). */
  frames: number;
  frameTime: number;
}

export type NewSegment = Pick<
  Segment,
  'msn' | 'initId' | 'discontinuity' | 'discontinuitySequence' | 'programDateTime'
>;

/**
 * A segment is kept as the buffers of its parts, never concatenated into a
 * buffer of its own: that copy of every byte, into fresh memory held for the
 * whole DVR window, was the packager's largest cost. `bytes` joins them when a
 * whole segment is asked for (a player without LL-HLS, a recording) and keeps
 * the result only as long as something else holds it.
 */
class SegmentData implements Segment {
  msn: number;
  initId: number;
  discontinuity: boolean;
  discontinuitySequence: number;
  programDateTime: number;
  complete = false;
  duration = 0;
  parts: Part[] = [];
  size = 0;
  frames = 0;
  frameTime = 0;
  /** Every part's bytes, in order, for the segment's whole life. */
  readonly chunks: Buffer[] = [];
  #joined: WeakRef<Buffer> | undefined;

  constructor(fields: NewSegment) {
    this.msn = fields.msn;
    this.initId = fields.initId;
    this.discontinuity = fields.discontinuity;
    this.discontinuitySequence = fields.discontinuitySequence;
    this.programDateTime = fields.programDateTime;
  }

  get bytes(): Buffer | undefined {
    if (!this.complete) return undefined;
    if (this.chunks.length === 1) return this.chunks[0];
    let joined = this.#joined?.deref();
    if (!joined) {
      joined = Buffer.concat(this.chunks, this.size);
      this.#joined = new WeakRef(joined);
    }
    return joined;
  }
}

export interface Measure {
  bits: number;
  seconds: number;
  /** Highest bit rate of a segment at least `minSegment` long. */
  peak: number;
  frames: number;
  frameTime: number;
}

export class SegmentWindow {
  readonly #windowSeconds: number;
  #complete: SegmentData[] = [];
  #open: SegmentData | undefined;

  constructor(windowSeconds: number) {
    this.#windowSeconds = windowSeconds;
  }

  get open(): Segment | undefined {
    return this.#open;
  }

  get complete(): readonly Segment[] {
    return this.#complete;
  }

  /** Complete segments, then the open one. */
  get all(): Segment[] {
    return this.#open ? [...this.#complete, this.#open] : this.#complete;
  }

  start(fields: NewSegment): Segment {
    this.#open = new SegmentData(fields);
    return this.#open;
  }

  append(part: Omit<Part, 'msn' | 'index'>, samples: number): Part {
    const segment = this.#open;
    if (!segment) throw new Error('no open segment');
    const full: Part = { ...part, msn: segment.msn, index: segment.parts.length };
    segment.parts.push(full);
    segment.chunks.push(part.bytes);
    segment.duration += part.duration;
    segment.size += part.bytes.length;
    if (samples > 0) {
      segment.frames += samples;
      segment.frameTime += part.duration;
    }
    return full;
  }

  /**
   * Completes the open segment, slides the window, and drops the parts of
   * segments more than `keepPartsSeconds` back from the live edge.
   */
  close(keepPartsSeconds: number): Segment | undefined {
    const segment = this.#open;
    if (!segment) return undefined;
    this.#open = undefined;
    segment.complete = true;
    const segments = this.#complete;
    segments.push(segment);
    let total = segments.reduce((sum, s) => sum + s.duration, 0);
    while (segments.length > 1 && total - segments[0]!.duration >= this.#windowSeconds) {
      total -= segments.shift()!.duration;
    }
    let span = 0;
    for (let i = segments.length - 1; i >= 0 && segments[i]!.parts.length > 0; i--) {
      if (span >= keepPartsSeconds) segments[i]!.parts = [];
      span += segments[i]!.duration;
    }
    return segment;
  }

  segment(msn: number): Segment | undefined {
    if (this.#open?.msn === msn) return this.#open;
    const first = this.#complete[0];
    return first ? this.#complete[msn - first.msn] : undefined;
  }

  /** The msn from which parts are listed: the newest segments covering at least `seconds`. */
  partsFrom(seconds: number): number {
    const segments = this.all;
    for (let i = segments.length - 1, span = 0; i >= 0; i--) {
      span += segments[i]!.duration;
      if (span >= seconds || segments[i]!.parts.length === 0) return segments[i]!.msn;
    }
    return segments[0]?.msn ?? 0;
  }

  /** Bytes and frames of the newest complete segments covering `seconds` (or the open one, if none). */
  measure(seconds: number, minSegment: number): Measure {
    const m: Measure = { bits: 0, seconds: 0, peak: 0, frames: 0, frameTime: 0 };
    const segments = this.#complete.length > 0 ? this.#complete : this.#open ? [this.#open] : [];
    for (let i = segments.length - 1; i >= 0 && m.seconds < seconds; i--) {
      const s = segments[i]!;
      m.bits += s.size * 8;
      m.seconds += s.duration;
      m.frames += s.frames;
      m.frameTime += s.frameTime;
      if (s.duration >= minSegment || s === this.#open) m.peak = Math.max(m.peak, (s.size * 8) / s.duration);
    }
    return m;
  }
}
