/**
 * ffmpeg arguments, built by pure functions so they can be tested as exact
 * arrays. A separate runner (supervisor.ts) owns the process.
 */
import type { Rendition } from './ladder.ts';

export interface LiveArgsOptions {
  /** Target segment duration in seconds: transcoded renditions get a keyframe exactly this often. */
  segmentSeconds: number;
  /** Maximum fragment (LL-HLS part) duration in milliseconds. */
  partMs: number;
  /** x264 preset for transcoded renditions. */
  preset: string;
}

/** fMP4 to a pipe, one fragment per part, flushed as soon as it is complete. */
function fmp4Output(fd: number, partMs: number): string[] {
  return [
    '-f',
    'mp4',
    '-movflags',
    '+frag_keyframe+empty_moov+default_base_moof',
    '-frag_duration',
    String(partMs * 1000),
    '-flush_packets',
    '1',
    `pipe:${fd}`,
  ];
}

function renditionArgs(r: Rendition, opts: LiveArgsOptions): string[] {
  const maps = ['-map', '0:v:0', '-map', '0:a:0?'];
  if (r.kind === 'passthrough') return [...maps, '-c', 'copy'];
  return [
    ...maps,
    '-c:v',
    'libx264',
    '-preset',
    opts.preset,
    '-tune',
    'zerolatency',
    '-profile:v',
    'main',
    '-pix_fmt',
    'yuv420p',
    '-vf',
    `scale=${r.width}:${r.height}`,
    '-b:v',
    `${r.videoKbps}k`,
    '-maxrate',
    `${Math.round(r.videoKbps * 1.1)}k`,
    '-bufsize',
    `${r.videoKbps}k`,
    // Keyframes on the segment grid, never elsewhere: segments and parts align across renditions.
    '-force_key_frames',
    `expr:gte(t,n_forced*${opts.segmentSeconds})`,
    '-sc_threshold',
    '0',
    '-c:a',
    'copy',
  ];
}

/**
 * One ffmpeg for a live stream: FLV on stdin, one fMP4 stream per rendition on
 * fd 3, 4, … in the order of `renditions`.
 */
export function liveTranscodeArgs(renditions: Rendition[], opts: LiveArgsOptions): string[] {
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'warning',
    // Not +nobuffer: it drops what probing read and stretches the first video frame.
    '-probesize',
    '64k',
    '-analyzeduration',
    '500000',
    '-f',
    'flv',
    '-i',
    'pipe:0',
  ];
  renditions.forEach((r, i) => {
    args.push(...renditionArgs(r, opts), ...fmp4Output(3 + i, opts.partMs));
  });
  return args;
}

/** One JPEG of the first frame of an fMP4 segment (init + media on stdin), scaled to `height`. */
export function thumbnailArgs(height: number): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-f',
    'mp4',
    '-i',
    'pipe:0',
    '-frames:v',
    '1',
    '-vf',
    `scale=-2:${height}`,
    '-q:v',
    '5',
    '-f',
    'image2',
    '-c:v',
    'mjpeg',
    'pipe:1',
  ];
}
