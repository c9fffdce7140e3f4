/**
 * Low-Latency HLS packaging of one rendition. Every fMP4 fragment becomes a
 * partial segment; consecutive parts form a media segment that starts on a
 * keyframe once the previous one reached the target duration. A sliding
 * window of segments is kept in memory for DVR; parts stay listed only near
 * the live edge. Playlist requests can block until a part exists (`waitFor`).
 */
import { AppError } from '@wavecast/kit/errors';
import type { Logger } from '@wavecast/kit/log';
import type { Fragment, InitSegment } from './fmp4.ts';
import { ceilMs, decimal, type MediaPlaylist, type PartPosition, type Variant } from './playlist.ts';
import { type Segment, SegmentWindow } from './segments.ts';
import { Waiters } from './waiters.ts';

export interface PackagerOptions {
  /** Target segment duration in seconds (default 1); segments end on the first keyframe at or after it. */
  segmentDuration?: number;
  /** Expected part duration in seconds (default 0.25), the PART-TARGET until parts have been seen. */
  partDuration?: number;
  /** Seconds of complete segments kept for DVR (default 120). */
  windowSeconds?: number;
  /**
   * Keyframe interval in seconds when it is known (transcoded renditions, `-g`); otherwise it is
   * measured. It lets the first segment end as early as the later ones (see `#keyframeNext`).
   */
  keyframeInterval?: number;
  /** A segment is cut even without a keyframe once this long (default 10 s). */
  maxSegmentDuration?: number;
  /**
   * Media sequence number of the first segment. Default: tenths of a second since the epoch, so
   * URLs (cached as immutable) never repeat across packagers, e.g. after the service restarts.
   */
  firstMsn?: number;
  /** Nominal bits per second, advertised until (or if higher than) what is measured. */
  bandwidth?: number;
  /** Milliseconds since the epoch; for EXT-X-PROGRAM-DATE-TIME. */
  now?: () => number;
  log?: Logger;
  /** Called with each segment as it completes, and the init segment it needs (recording, thumbnails). */
  onSegment?: (segment: CompletedSegment) => void;
}

export interface CompletedSegment {
  msn: number;
  duration: number;
  discontinuity: boolean;
  programDateTime: number;
  initId: number;
  init: Buffer;
  bytes: Buffer;
}

/** Parts are listed in the playlist for this many target durations back from the live edge. */
const PART_LIST_TARGETS = 3;
/** ...and can be fetched for twice as long, for clients still working through an older playlist. */
const PART_KEEP_TARGETS = 6;
const BANDWIDTH_WINDOW_SECONDS = 30;
/** An input clock that puts the first fragment further back than this is not believed. */
const MAX_INPUT_LEAD_MS = 5_000;

export class RenditionPackager {
  readonly #segmentTarget: number;
  readonly #maxSegment: number;
  readonly #nominalPartTarget: number;
  readonly #nominalBandwidth: number | undefined;
  readonly #keyframeInterval: number | undefined;
  readonly #now: () => number;
  readonly #log: Logger | undefined;
  readonly #onSegment: PackagerOptions['onSegment'];
  readonly #waiters = new Waiters();
  readonly #inits = new Map<number, InitSegment>();
  readonly #window: SegmentWindow;
  #initId = -1;
  #nextMsn: number;
  #discontinuitySequence = 0;
  #pendingDiscontinuity = false;
  #mediaSinceInit = false;
  #targetDuration: number;
  #partTarget = 0;
  #lastKeyTime: number | undefined;
  #gop: number | undefined;
  #anchor: { wall: number; media: number } | undefined;
  #lastPart: PartPosition | undefined;
  #lastCompleteMsn: number;
  #ended = false;
  #revision = 0;
  /** Wall clock (ms) at which the input of the next timeline's media time 0 reached the ingest. */
  #inputStart: { wall: number; inits: number } | undefined;

  constructor(options: PackagerOptions = {}) {
    this.#segmentTarget = options.segmentDuration ?? 1;
    this.#window = new SegmentWindow(options.windowSeconds ?? 120);
    this.#maxSegment = options.maxSegmentDuration ?? 10;
    this.#nominalPartTarget = ceilMs(options.partDuration ?? 0.25);
    this.#nominalBandwidth = options.bandwidth;
    this.#keyframeInterval = options.keyframeInterval;
    this.#gop = options.keyframeInterval;
    this.#now = options.now ?? Date.now;
    this.#log = options.log;
    this.#onSegment = options.onSegment;
    this.#targetDuration = Math.max(1, Math.round(this.#segmentTarget));
    this.#nextMsn = options.firstMsn ?? Math.floor(this.#now() / 100);
    this.#lastCompleteMsn = this.#nextMsn - 1;
  }

  /** A new initialization segment; one arriving after media implies a discontinuity. */
  addInit(init: InitSegment): void {
    if (this.#ended) throw new AppError('failed_precondition', 'the rendition has ended');
    if (this.#mediaSinceInit && !this.#pendingDiscontinuity) this.discontinuity();
    // Init ids share the msn space (the msn of the first segment using it), unique like msns.
    this.#initId = Math.max(this.#nextMsn, this.#initId + 1);
    this.#inits.set(this.#initId, init);
    this.#mediaSinceInit = false;
    // The input clock is about the ffmpeg whose init comes next; another init is another ffmpeg.
    if (this.#inputStart && this.#inputStart.inits++ > 0) this.#inputStart = undefined;
    this.#revision++;
  }

  /**
   * The input that media time 0 of the next timeline stands for (ffmpeg rebases its output on its
   * first input packet) reached the ingest at `wallMs`: program date-time is then anchored there,
   * close to capture time, instead of on the arrival of the first fragment, which comes later by
   * ffmpeg's start-up (probing, the first part). Ignored when it is later than that arrival, or
   * more than `MAX_INPUT_LEAD_MS` earlier (a stale or wrong clock), and forgotten when a second
   * init arrives before any media (that ffmpeg died; the next one starts from a later input).
   */
  anchorInput(wallMs: number): void {
    this.#inputStart = { wall: wallMs, inits: 0 };
  }

  addFragment(fragment: Fragment): void {
    if (this.#ended) throw new AppError('failed_precondition', 'the rendition has ended');
    if (this.#initId < 0) throw new AppError('failed_precondition', 'a fragment before any init segment');
    if (!(fragment.duration > 0)) {
      this.#log?.warn({ seq: fragment.sequenceNumber }, 'empty fragment dropped');
      return;
    }
    const frame = fragment.sampleCount > 0 ? fragment.duration / fragment.sampleCount : 0.01;
    const tolerance = frame / 2;
    const open = this.#window.open;
    const reachedTarget = open && open.duration >= this.#segmentTarget - tolerance;
    const tooLong = open && open.duration + fragment.duration > this.#maxSegment + tolerance;
    if (open && (tooLong || (fragment.independent && reachedTarget))) this.#close();

    const segment = this.#window.open ?? this.#openSegment(fragment);
    const { duration, independent, bytes } = fragment;
    const part = this.#window.append({ duration, independent, bytes }, fragment.sampleCount);
    this.#lastPart = { msn: part.msn, part: part.index };
    this.#mediaSinceInit = true;
    this.#partTarget = Math.max(this.#partTarget, ceilMs(fragment.duration));
    this.#targetDuration = Math.max(this.#targetDuration, Math.round(Number(decimal(segment.duration))));
    if (fragment.independent) {
      if (this.#lastKeyTime !== undefined && fragment.decodeTime > this.#lastKeyTime) {
        this.#gop = fragment.decodeTime - this.#lastKeyTime;
      }
      this.#lastKeyTime = fragment.decodeTime;
    }
    // Closing as soon as the next fragment is expected to start with a keyframe
    // keeps the preload hint right: it then names part 0 of the next segment.
    if (segment.duration >= this.#segmentTarget - tolerance && this.#keyframeNext(segment, fragment, frame)) {
      this.#close();
    }
    this.#notify();
  }

  /** The stream restarts (ffmpeg restarted, the publisher reconnected): new timeline, new init. */
  discontinuity(): void {
    if (this.#ended) return;
    this.#close();
    this.#pendingDiscontinuity = true;
    this.#lastKeyTime = undefined;
    this.#gop = this.#keyframeInterval;
    this.#anchor = undefined;
    this.#notify();
  }

  /** The stream is over: EXT-X-ENDLIST, and blocked requests are answered. */
  end(): void {
    if (this.#ended) return;
    this.#close();
    this.#ended = true;
    this.#notify();
    this.#waiters.close(new AppError('not_found', 'the stream has ended'));
  }

  /**
   * Resolves once segment `msn` is complete (no `part`) or once part `part` of
   * segment `msn` or any later part exists; rejects with `not_found` when the
   * stream ends first, or with the signal's reason.
   */
  waitFor(msn: number, part?: number, signal?: AbortSignal): Promise<void> {
    if (this.#reached(msn, part)) return Promise.resolve();
    if (this.#ended) return Promise.reject(new AppError('not_found', 'the stream has ended'));
    return this.#waiters.add((): boolean => this.#reached(msn, part), signal);
  }

  /** Resolves once the first part exists (the playlist can be rendered); rejects like `waitFor`. */
  waitForMedia(signal?: AbortSignal): Promise<void> {
    if (this.#lastPart) return Promise.resolve();
    if (this.#ended) return Promise.reject(new AppError('not_found', 'the stream has ended'));
    return this.#waiters.add(() => this.#lastPart !== undefined, signal);
  }

  /** Whether `waitFor(msn, part)` would resolve at once. */
  reached(msn: number, part?: number): boolean {
    return this.#reached(msn, part);
  }

  #reached(msn: number, part: number | undefined): boolean {
    if (part === undefined) return this.#lastCompleteMsn >= msn;
    const last = this.#lastPart;
    return last !== undefined && (last.msn > msn || (last.msn === msn && last.part >= part));
  }

  #notify(): void {
    this.#revision++;
    this.#waiters.check();
  }

  /**
   * Whether the next fragment should start with a keyframe: one GOP after the last keyframe, give
   * or take a frame. (ffmpeg stretches the first video frame by the AAC priming delay, ~23 ms, so
   * the first GOP measures long and the first segment ends late by as much.) An overdue keyframe
   * is not predicted: the segment then ends when it arrives, and that one preload hint is wrong.
   */
  #keyframeNext(segment: Segment, fragment: Fragment, frame: number): boolean {
    if (segment.parts.every((p) => p.independent)) return true;
    if (this.#gop === undefined || this.#lastKeyTime === undefined) return false;
    return Math.abs(fragment.decodeTime + fragment.duration - (this.#lastKeyTime + this.#gop)) <= frame;
  }

  #openSegment(fragment: Fragment): Segment {
    const discontinuity = this.#pendingDiscontinuity && this.#window.complete.length > 0;
    if (discontinuity) this.#discontinuitySequence += 1;
    this.#pendingDiscontinuity = false;
    // Program date-time follows media time from the first fragment of a timeline,
    // so it advances exactly with EXTINF.
    this.#anchor ??= this.#anchorAt(fragment);
    if (!fragment.independent) this.#log?.warn({ msn: this.#nextMsn }, 'segment starts without a keyframe');
    return this.#window.start({
      msn: this.#nextMsn++,
      initId: this.#initId,
      discontinuity,
      discontinuitySequence: this.#discontinuitySequence,
      programDateTime: this.#anchor.wall + (fragment.decodeTime - this.#anchor.media) * 1000,
    });
  }

  /** Where a timeline's program date-time starts: the input clock if known and plausible, else now. */
  #anchorAt(fragment: Fragment): { wall: number; media: number } {
    // The fragment ended about now.
    const arrived = { wall: this.#now() - fragment.duration * 1000, media: fragment.decodeTime };
    const input = this.#inputStart?.wall;
    this.#inputStart = undefined;
    if (input === undefined) return arrived;
    const lead = arrived.wall - (input + fragment.decodeTime * 1000);
    if (lead < 0 || lead > MAX_INPUT_LEAD_MS) {
      this.#log?.warn({ leadMs: Math.round(lead) }, 'input clock ignored for program date-time');
      return arrived;
    }
    return { wall: input, media: 0 };
  }

  #close(): void {
    const segment = this.#window.close(PART_KEEP_TARGETS * this.#targetDuration);
    if (!segment) return;
    this.#lastCompleteMsn = segment.msn;
    const init = this.#inits.get(segment.initId);
    if (this.#onSegment && init && segment.bytes) {
      const { msn, duration, discontinuity, programDateTime, initId, bytes } = segment;
      this.#onSegment({ msn, duration, discontinuity, programDateTime, initId, init: init.bytes, bytes });
    }
    const used = new Set([this.#initId, ...this.#window.complete.map((s) => s.initId)]);
    for (const id of this.#inits.keys()) if (!used.has(id)) this.#inits.delete(id);
  }

  /**
   * Increases whenever what the playlists show may have changed (a part, a segment boundary, an
   * init, a discontinuity, the end): renderings can be cached against it.
   */
  get revision(): number {
    return this.#revision;
  }

  /** Requests blocked in `waitFor`. */
  get waiting(): number {
    return this.#waiters.size;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get targetDuration(): number {
    return this.#targetDuration;
  }

  /** Media sequence number of the newest complete segment (first msn - 1 before the first). */
  get lastCompleteMsn(): number {
    return this.#lastCompleteMsn;
  }

  /** The newest part, for EXT-X-RENDITION-REPORT. */
  get lastPart(): PartPosition | undefined {
    return this.#lastPart;
  }

  /** At least one part has arrived. */
  get hasMedia(): boolean {
    return this.#lastPart !== undefined;
  }

  /** The part expected next: the EXT-X-PRELOAD-HINT. */
  get preloadHint(): PartPosition | undefined {
    if (this.#ended || this.#pendingDiscontinuity || this.#initId < 0) return undefined;
    const open = this.#window.open;
    return open ? { msn: open.msn, part: open.parts.length } : { msn: this.#nextMsn, part: 0 };
  }

  /** True when `msn` is the segment being built now, or the next one to be (it can be waited for). */
  isUpcoming(msn: number): boolean {
    return !this.#ended && (this.#window.open?.msn ?? this.#nextMsn) === msn;
  }

  initBytes(id: number): Buffer | undefined {
    return this.#inits.get(id)?.bytes;
  }

  /** A complete segment in the window. */
  segmentBytes(msn: number): Buffer | undefined {
    return this.#window.segment(msn)?.bytes;
  }

  /** A part of the open segment, or of a complete one near the live edge. */
  partBytes(msn: number, index: number): Buffer | undefined {
    return this.#window.segment(msn)?.parts[index]?.bytes;
  }

  /** What the media playlist shows now; undefined until the first part exists. */
  playlist(): MediaPlaylist | undefined {
    const segments = this.#window.all;
    const first = segments[0];
    if (!first) return undefined;
    return {
      targetDuration: this.#targetDuration,
      partTarget: this.#partTarget || this.#nominalPartTarget,
      discontinuitySequence: first.discontinuitySequence,
      segments,
      partsFrom: this.#window.partsFrom(PART_LIST_TARGETS * this.#targetDuration),
      preloadHint: this.preloadHint,
      ended: this.#ended,
    };
  }

  /** The master playlist entry, measured over the last complete segments; undefined before any init. */
  variant(uri: string): Variant | undefined {
    const init = this.#inits.get(this.#initId);
    if (!init) return undefined;
    const m = this.#window.measure(BANDWIDTH_WINDOW_SECONDS, this.#segmentTarget / 2);
    const average = m.seconds > 0 ? m.bits / m.seconds : undefined;
    const bandwidth = Math.max(this.#nominalBandwidth ?? 0, m.peak, average ?? 0);
    if (bandwidth === 0) return undefined;
    const video = init.tracks.find((t) => t.kind === 'video');
    return {
      uri,
      bandwidth,
      averageBandwidth: average ?? this.#nominalBandwidth,
      codecs: [...new Set(init.tracks.map((t) => t.codec))].join(','),
      width: video?.width,
      height: video?.height,
      frameRate: video && m.frameTime > 0 ? m.frames / m.frameTime : undefined,
    };
  }
}
