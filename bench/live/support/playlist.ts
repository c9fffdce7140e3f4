/** Just enough media playlist parsing to tell whether a live stream keeps real time. */

export interface PlaylistProgress {
  /** Complete segments: media sequence number → duration (s). */
  segments: Map<number, number>;
  lastMsn: number;
  /**
   * Wall-clock time (ms) at which the newest media listed (complete segment or part) ends, from
   * EXT-X-PROGRAM-DATE-TIME; NaN when the playlist has none.
   */
  edgeMs: number;
  /** Parts listed, and the URI of the newest complete part that is not the hinted one. */
  partUris: string[];
  bytes: number;
}

export function parseProgress(text: string): PlaylistProgress {
  const lines = text.split('\n');
  let msn = 0;
  const segments = new Map<number, number>();
  let pdt = Number.NaN;
  let mediaSincePdt = 0;
  const partUris: string[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) msn = Number(line.slice(22));
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      pdt = Date.parse(line.slice(25));
      mediaSincePdt = 0;
    } else if (line.startsWith('#EXT-X-PART:')) {
      const d = /DURATION=([\d.]+)/.exec(line);
      const uri = /URI="([^"]+)"/.exec(line);
      mediaSincePdt += Number(d?.[1] ?? 0);
      if (uri) partUris.push(uri[1]!);
    } else if (line.startsWith('#EXTINF:')) {
      const duration = Number.parseFloat(line.slice(8));
      segments.set(msn, duration);
      msn++;
      // A complete segment after its parts: its EXTINF covers them, so restart the count from it.
      mediaSincePdt = 0;
      pdt += duration * 1000;
    }
  }
  return {
    segments,
    lastMsn: msn - 1,
    edgeMs: pdt + mediaSincePdt * 1000,
    partUris,
    bytes: Buffer.byteLength(text),
  };
}

/** Seconds of media completed between two snapshots of the same playlist. */
export function mediaBetween(a: PlaylistProgress, b: PlaylistProgress): number {
  let seconds = 0;
  for (const [msn, duration] of b.segments) if (msn > a.lastMsn) seconds += duration;
  return seconds;
}
