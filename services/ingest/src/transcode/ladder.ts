/**
 * The rendition ladder of a live stream: the source passes through untouched,
 * and each configured rung strictly below the source height is transcoded.
 * Nothing is ever upscaled.
 */
export interface Rung {
  /** Output height in pixels; width follows the source aspect ratio. */
  height: number;
  videoKbps: number;
}

export const defaultLadder: Rung[] = [
  { height: 720, videoKbps: 2800 },
  { height: 480, videoKbps: 1400 },
  { height: 360, videoKbps: 800 },
];

export interface SourceInfo {
  width: number;
  height: number;
}

export type Rendition =
  | { name: 'source'; kind: 'passthrough'; width: number; height: number }
  | { name: string; kind: 'transcode'; width: number; height: number; videoKbps: number };

/** Widths must be even for H.264 4:2:0. */
const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/** Parses `720:2800,480:1400` (height:kbps pairs); throws a readable error. */
export function parseLadder(text: string): Rung[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    const m = /^\s*(\d{2,4})\s*:\s*(\d{2,6})\s*$/.exec(part);
    if (!m) throw new Error(`ladder entry "${part}" must be height:kbps, e.g. 720:2800`);
    return { height: Number(m[1]), videoKbps: Number(m[2]) };
  });
}

/** The renditions for a source: passthrough first, then rungs below it, highest first. */
export function planRenditions(source: SourceInfo, ladder: Rung[], passthroughOnly: boolean): Rendition[] {
  const out: Rendition[] = [
    { name: 'source', kind: 'passthrough', width: source.width, height: source.height },
  ];
  if (passthroughOnly) return out;
  const seen = new Set<number>();
  for (const rung of [...ladder].sort((a, b) => b.height - a.height)) {
    if (rung.height >= source.height || seen.has(rung.height)) continue;
    seen.add(rung.height);
    out.push({
      name: `${rung.height}p`,
      kind: 'transcode',
      width: even((source.width * rung.height) / source.height),
      height: rung.height,
      videoKbps: rung.videoKbps,
    });
  }
  return out;
}
