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

export function renderMediaPlaylist(p: MediaPlaylist, reports: readonly RenditionReport[] = []): string {
  const { holdBack, partHoldBack } = holdBacks(p);
  const first = p.segments[0];
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:9',
    `#EXT-X-TARGETDURATION:${p.targetDuration}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${decimal(partHoldBack)},HOLD-BACK=${decimal(holdBack)}`,
    `#EXT-X-PART-INF:PART-TARGET=${decimal(p.partTarget)}`,
    `#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? 0}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`,
  ];
  let previous: PlaylistSegment | undefined;
  for (const segment of p.segments) {
    if (previous && segment.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (!previous || segment.discontinuity || segment.initId !== previous.initId) {
      lines.push(`#EXT-X-MAP:URI="${initUri(segment.initId)}"`);
    }
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateTime).toISOString()}`);
    if (segment.msn >= p.partsFrom) {
      segment.parts.forEach((part, index) => {
        const independent = part.independent ? ',INDEPENDENT=YES' : '';
        lines.push(
          `#EXT-X-PART:DURATION=${decimal(part.duration)},URI="${partUri(segment.msn, index)}"${independent}`,
        );
      });
    }
    if (segment.complete) lines.push(`#EXTINF:${decimal(segment.duration)},`, segmentUri(segment.msn));
    previous = segment;
  }
  if (p.ended) lines.push('#EXT-X-ENDLIST');
  else if (p.preloadHint) {
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${partUri(p.preloadHint.msn, p.preloadHint.part)}"`);
  }
  for (const r of reports)
    lines.push(`#EXT-X-RENDITION-REPORT:URI="${r.uri}",LAST-MSN=${r.msn},LAST-PART=${r.part}`);
  return `${lines.join('\n')}\n`;
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
