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
  /** A JPEG of the picture every `seconds`, `height` pixels high, on the fd after the renditions'. */
  thumbnail?: ThumbnailOptions;
}

export interface ThumbnailOptions {
  seconds: number;
  height: number;
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
 * JPEGs on a pipe (one after the other): the first frame, then the first
 * frame at least `seconds` later, each time. The caller decodes keyframes
 * only when nothing else needs the decoder (see liveTranscodeArgs).
 */
function thumbnailOutput(fd: number, t: ThumbnailOptions): string[] {
  return [
    '-map',
    '0:v:0',
    '-vf',
    `select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,${t.seconds})',scale=-2:${t.height}`,
    '-fps_mode',
    'passthrough',
    '-an',
    '-c:v',
    'mjpeg',
    '-q:v',
    '5',
    // Each picture as soon as it is encoded, not when 32 KB have piled up.
    '-flush_packets',
    '1',
    '-f',
    'image2pipe',
    `pipe:${fd}`,
  ];
}

/**
 * One ffmpeg for a live stream: FLV on stdin, one fMP4 stream per rendition on
 * fd 3, 4, … in the order of `renditions`, then the thumbnails (if asked) on
 * the next fd.
 */
export function liveTranscodeArgs(renditions: Rendition[], opts: LiveArgsOptions): string[] {
  // With every rendition copied, the decoder serves only the thumbnails: keyframes are enough.
  const keyframesOnly = opts.thumbnail && renditions.every((r) => r.kind === 'passthrough');
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'warning',
    ...(keyframesOnly ? ['-skip_frame', 'nokey'] : []),
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
  if (opts.thumbnail) args.push(...thumbnailOutput(3 + renditions.length, opts.thumbnail));
  return args;
}
