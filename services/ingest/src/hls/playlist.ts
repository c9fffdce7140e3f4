/**
 * Pure rendering of HLS playlists (draft-pantos-hls-rfc8216bis, protocol
 * version 9, Low-Latency HLS). Also the one place resource names are made;
 * the origin's routes match exactly these.
 */

export const initUri = (id: number) => `init-${id}.mp4`;
export const segmentUri = (msn: number) => `seg-${msn}.m4s`;
export const partUri = (msn: number, index: number) => `part-${msn}.${index}.m4s`;
export const mediaPlaylistUri = (rendition: string) => `${rendition}/index.m3u8`;

export interface PlaylistPart {
  duration: number;
  independent: boolean;
}

export interface PlaylistSegment {
  /** Media sequence number. */
  msn: number;
  duration: number;
  /** Which initialization segment (EXT-X-MAP) the segment needs. */
  initId: number;
  /** EXT-X-DISCONTINUITY comes before this segment. */
  discontinuity: boolean;
  /** Milliseconds since the epoch at the segment's first sample. */
  programDateTime: number;
  /** False for the segment being built at the live edge: only its parts are listed. */
  complete: boolean;
  parts: readonly PlaylistPart[];
}

export interface PartPosition {
  msn: number;
  part: number;
}

export interface MediaPlaylist {
  /** Whole seconds; every EXTINF rounded to the nearest integer is at most this. */
  targetDuration: number;
  partTarget: number;
  /** Discontinuity sequence number of the first segment. */
  discontinuitySequence: number;
  /** Oldest first; the last one may be incomplete. Never empty. */
  segments: readonly PlaylistSegment[];
  /** Parts are listed for segments from this media sequence number on. */
  partsFrom: number;
  preloadHint: PartPosition | undefined;
  ended: boolean;
}

export interface RenditionReport extends PartPosition {
  /** Relative to the media playlist, e.g. `../720p/index.m3u8`. */
  uri: string;
}

/** Up to 5 decimals, no trailing zeros: `1`, `0.26667`. */
export const decimal = (seconds: number) => String(Number(seconds.toFixed(5)));

/** Rounds a duration up to whole milliseconds, so that rounded-for-print durations stay below it. */
export const ceilMs = (seconds: number) => Math.ceil(Number((seconds * 1000).toFixed(3))) / 1000;

export function holdBacks(p: Pick<MediaPlaylist, 'targetDuration' | 'partTarget'>) {
  return { holdBack: 3 * p.targetDuration, partHoldBack: Number((3 * p.partTarget).toFixed(3)) };
}

/** Seconds from the end of the playlist before which a delta update may skip segments (the minimum, 6 target durations). */
export const canSkipUntil = (p: Pick<MediaPlaylist, 'targetDuration'>) => 6 * p.targetDuration;

/**
 * How many of the oldest segments a delta update (`_HLS_skip=YES`) replaces by EXT-X-SKIP: complete
 * segments without listed parts that end at least CAN-SKIP-UNTIL before the end of the playlist.
 */
export function skippable(p: MediaPlaylist): number {
  const until = canSkipUntil(p);
  let after = 0;
  for (const segment of p.segments) after += segment.duration;
  let count = 0;
  for (const segment of p.segments) {
    after -= segment.duration;
    if (!segment.complete || segment.msn >= p.partsFrom || after < until - 1e-9) break;
    count++;
  }
  return count;
}

/**
 * The lines of a complete segment whose parts are not listed (most of a DVR playlist): they never
 * change once the segment is complete, so they are rendered once per segment, not per playlist.
 */
interface SegmentText {
  msn: number;
  duration: number;
  programDateTime: number;
  text: string;
}
const segmentTexts = new WeakMap<PlaylistSegment, SegmentText>();

function completeSegmentText(segment: PlaylistSegment): string {
  const cached = segmentTexts.get(segment);
  if (
    cached &&
    cached.msn === segment.msn &&
    cached.duration === segment.duration &&
    cached.programDateTime === segment.programDateTime
  ) {
    return cached.text;
  }
  const { msn, duration, programDateTime } = segment;
  const text = `${programDateTimeLine(programDateTime)}#EXTINF:${decimal(duration)},\n${segmentUri(msn)}\n`;
  segmentTexts.set(segment, { msn, duration, programDateTime, text });
  return text;
}

const programDateTimeLine = (ms: number) => `#EXT-X-PROGRAM-DATE-TIME:${new Date(ms).toISOString()}\n`;

/**
 * The media playlist; with `delta`, the delta update a client asks for with `_HLS_skip=YES`: the
 * oldest segments replaced by EXT-X-SKIP (the client has them from its previous copy).
 */
export function renderMediaPlaylist(
  p: MediaPlaylist,
  reports: readonly RenditionReport[] = [],
  delta = false,
): string {
  const { holdBack, partHoldBack } = holdBacks(p);
  const first = p.segments[0];
  let out =
    '#EXTM3U\n#EXT-X-VERSION:9\n' +
    `#EXT-X-TARGETDURATION:${p.targetDuration}\n` +
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=${decimal(canSkipUntil(p))},` +
    `PART-HOLD-BACK=${decimal(partHoldBack)},HOLD-BACK=${decimal(holdBack)}\n` +
    `#EXT-X-PART-INF:PART-TARGET=${decimal(p.partTarget)}\n` +
    `#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? 0}\n` +
    `#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}\n`;
  const skipped = delta ? skippable(p) : 0;
  if (skipped > 0) out += `#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}\n`;
  let previous: PlaylistSegment | undefined = p.segments[skipped - 1];
  let mapped = false;
  for (let i = skipped; i < p.segments.length; i++) {
    const segment = p.segments[i]!;
    if (previous && segment.discontinuity) out += '#EXT-X-DISCONTINUITY\n';
    if (!mapped || segment.discontinuity || segment.initId !== previous?.initId) {
      out += `#EXT-X-MAP:URI="${initUri(segment.initId)}"\n`;
      mapped = true;
    }
    previous = segment;
    if (segment.complete && segment.msn < p.partsFrom) {
      out += completeSegmentText(segment);
      continue;
    }
    out += programDateTimeLine(segment.programDateTime);
    if (segment.msn >= p.partsFrom) {
      segment.parts.forEach((part, index) => {
        const independent = part.independent ? ',INDEPENDENT=YES' : '';
        out += `#EXT-X-PART:DURATION=${decimal(part.duration)},URI="${partUri(segment.msn, index)}"${independent}\n`;
      });
    }
    if (segment.complete) out += `#EXTINF:${decimal(segment.duration)},\n${segmentUri(segment.msn)}\n`;
  }
  if (p.ended) out += '#EXT-X-ENDLIST\n';
  else if (p.preloadHint) {
    out += `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${partUri(p.preloadHint.msn, p.preloadHint.part)}"\n`;
  }
  for (const r of reports) {
    out += `#EXT-X-RENDITION-REPORT:URI="${r.uri}",LAST-MSN=${r.msn},LAST-PART=${r.part}\n`;
  }
  return out;
}

export interface Variant {
  uri: string;
  /** Peak bits per second. */
  bandwidth: number;
  averageBandwidth: number | undefined;
  /** Comma-separated RFC 6381 codec strings. */
  codecs: string;
  width: number | undefined;
  height: number | undefined;
  frameRate: number | undefined;
}

export function renderMasterPlaylist(variants: readonly Variant[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:9'];
  for (const v of variants) {
    const attrs = [`BANDWIDTH=${Math.ceil(v.bandwidth)}`];
    if (v.averageBandwidth !== undefined) attrs.push(`AVERAGE-BANDWIDTH=${Math.ceil(v.averageBandwidth)}`);
    attrs.push(`CODECS="${v.codecs}"`);
    if (v.width && v.height) attrs.push(`RESOLUTION=${v.width}x${v.height}`);
    if (v.frameRate) attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, v.uri);
  }
  return `${lines.join('\n')}\n`;
}
