/**
 * ffmpeg arguments, built by pure functions so they can be tested as exact
 * arrays. The runner (runner.ts) owns the processes.
 *
 * One ffmpeg encodes every rendition from a single decode and writes ONE set
 * of CMAF (fMP4) segments that both manifests share: the dash muxer writes
 * `manifest.mpd` and, with `-hls_playlist 1`, `master.m3u8` plus one
 * `media_<n>.m3u8` per output stream (n = stream index: videos first, then
 * audio). Keyframes are forced on the segment grid in every rendition, so
 * segments align and players can switch at any segment boundary.
 */
import type { EncodePlan, Fps } from './ladder.ts';

export interface EncodeOptions {
  segmentSeconds: number;
  preset: string;
}

export interface StoryboardLayout {
  intervalSeconds: number;
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

/** Quiet apart from errors; machine-readable progress on stdout; never reads stdin. */
const common = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', '-y'];

const fpsText = (fps: Fps) => (fps.den === 1 ? String(fps.num) : `${fps.num}/${fps.den}`);

function filterGraph(plan: EncodePlan): string {
  const input = `[0:${plan.videoIndex}]`;
  const chains = plan.video.map((r) => `fps=${fpsText(r.fps)},scale=${r.width}:${r.height}`);
  if (chains.length === 1) return `${input}${chains[0]}[v0]`;
  const split = `${input}split=${chains.length}${chains.map((_, i) => `[s${i}]`).join('')}`;
  return [split, ...chains.map((chain, i) => `[s${i}]${chain}[v${i}]`)].join(';');
}

function videoArgs(plan: EncodePlan, opts: EncodeOptions): string[] {
  if (plan.video.length === 0) return [];
  const args = ['-filter_complex', filterGraph(plan), ...plan.video.flatMap((_, i) => ['-map', `[v${i}]`])];
  args.push('-c:v', 'libx264', '-preset', opts.preset, '-profile:v', 'high', '-pix_fmt', 'yuv420p');
  for (const [i, r] of plan.video.entries()) {
    args.push(
      `-b:v:${i}`,
      `${r.videoKbps}k`,
      `-maxrate:v:${i}`,
      `${Math.round(r.videoKbps * 1.1)}k`,
      `-bufsize:v:${i}`,
      `${r.videoKbps * 2}k`,
    );
  }
  // Keyframes exactly on the segment grid and nowhere else (no scene-cut keyframes).
  args.push('-force_key_frames', `expr:gte(t,n_forced*${opts.segmentSeconds})`, '-sc_threshold', '0');
  return args;
}

function audioArgs(plan: EncodePlan): string[] {
  if (plan.audio.length === 0) return [];
  const args = plan.audio.flatMap(() => ['-map', `0:${plan.audioIndex}`]);
  args.push('-c:a', 'aac', ...plan.audio.flatMap((r, i) => [`-b:a:${i}`, `${r.kbps}k`]));
  args.push('-ac', String(plan.audioChannels), '-ar', String(plan.audioSampleRate));
  return args;
}

/** The adaptation sets of the present kinds: `id=0,streams=v id=1,streams=a`. */
function adaptationSets(plan: EncodePlan): string {
  const kinds = [...(plan.video.length > 0 ? ['v'] : []), ...(plan.audio.length > 0 ? ['a'] : [])];
  return kinds.map((kind, id) => `id=${id},streams=${kind}`).join(' ');
}

/** The whole VOD encode: `input` to `<outputDir>/manifest.mpd` + `master.m3u8` + segments. */
export function encodeArgs(
  plan: EncodePlan,
  input: string,
  outputDir: string,
  opts: EncodeOptions,
): string[] {
  return [
    ...common,
    '-i',
    input,
    // Source metadata (e.g. a phone's GPS location) stays private.
    '-map_metadata',
    '-1',
    '-map_chapters',
    '-1',
    ...videoArgs(plan, opts),
    ...audioArgs(plan),
    '-f',
    'dash',
    '-dash_segment_type',
    'mp4',
    '-seg_duration',
    String(opts.segmentSeconds),
    '-use_template',
    '1',
    '-use_timeline',
    '1',
    '-single_file',
    '0',
    '-hls_playlist',
    '1',
    '-adaptation_sets',
    adaptationSets(plan),
    '-init_seg_name',
    'init-$RepresentationID$.m4s',
    '-media_seg_name',
    'seg-$RepresentationID$-$Number%05d$.m4s',
    `${outputDir}/manifest.mpd`,
  ];
}

/** One JPEG of the frame at `atSeconds` (fast input seek), at `width`x`height`. */
export function posterArgs(
  input: string,
  videoIndex: number,
  atSeconds: number,
  size: { width: number; height: number },
  output: string,
): string[] {
  return [
    ...common,
    '-ss',
    atSeconds.toFixed(3),
    '-i',
    input,
    '-map',
    `0:${videoIndex}`,
    '-map_metadata',
    '-1',
    '-frames:v',
    '1',
    '-vf',
    `scale=${size.width}:${size.height}`,
    '-q:v',
    '3',
    '-update',
    '1',
    output,
  ];
}

/** One JPEG sprite: a tile every `intervalSeconds` from 0, left to right, top to bottom. */
export function storyboardArgs(
  input: string,
  videoIndex: number,
  layout: StoryboardLayout,
  output: string,
): string[] {
  const { intervalSeconds: every, tileWidth, tileHeight, columns, rows } = layout;
  return [
    ...common,
    '-i',
    input,
    '-map',
    `0:${videoIndex}`,
    '-map_metadata',
    '-1',
    '-vf',
    `fps=1/${every}:eof_action=pass,scale=${tileWidth}:${tileHeight},tile=${columns}x${rows}`,
    '-frames:v',
    '1',
    '-q:v',
    '5',
    '-update',
    '1',
    output,
  ];
}
