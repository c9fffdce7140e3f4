/**
 * What ffprobe is asked, and what its answers mean for an upload: pure
 * functions, so the arguments are tested as exact arrays and the verdicts on
 * canned output. The process itself is run by ./ffprobe.ts.
 */
import type { EventData } from '@wavecast/contracts/events';

export type Probe = EventData<'video.uploaded.v1'>['probe'];

export type Verdict = { ok: true; probe: Probe } | { ok: false; reason: string };

/**
 * Containers ffprobe may open (demuxer names). Playlists (HLS, concat, …)
 * are left out on purpose: an uploaded playlist would make ffprobe fetch
 * whatever it names. So are images and raw elementary streams.
 */
export const ACCEPTED_FORMATS = [
  'mov',
  'mp4',
  'matroska',
  'webm',
  'avi',
  'flv',
  'mpegts',
  'mpeg',
  'asf',
  'ogg',
  'mxf',
  'dv',
  'ivf',
] as const;

/** Protocols ffprobe may use: the staged file, or a presigned URL of the bucket. */
export function protocolsFor(input: string): string {
  return /^https?:\/\//.test(input) ? 'http,https,tcp,tls,crypto' : 'file';
}

function common(input: string): string[] {
  return [
    '-v',
    'error',
    '-hide_banner',
    '-protocol_whitelist',
    protocolsFor(input),
    '-format_whitelist',
    ACCEPTED_FORMATS.join(','),
    '-print_format',
    'json',
  ];
}

/** The container and its streams, from the header. */
export function streamsArgs(input: string): string[] {
  return [...common(input), '-show_format', '-show_streams', input];
}

/**
 * Decodes the first video frame and, when `endAt` (seconds) is given, the
 * first frame from a seek there: a file cut short keeps a header that
 * promises more than it holds (an MP4 with its index in front), and the seek
 * near the end then finds nothing to decode.
 */
export function framesArgs(input: string, endAt?: number): string[] {
  const intervals = endAt === undefined ? '%+#1' : `%+#1,${endAt.toFixed(3)}%+#1`;
  return [
    ...common(input),
    '-select_streams',
    'v:0',
    '-show_entries',
    'frame=pts_time',
    '-read_intervals',
    intervals,
    input,
  ];
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
}

export interface FfprobeStreams {
  streams?: FfprobeStream[];
  format?: { duration?: string; start_time?: string };
}

/** Seconds from the end where the completeness check seeks (a keyframe is usually within). */
const END_MARGIN_SECONDS = 2;

/** The probe of the first video stream, or why there is none; `endAt` is where framesArgs should seek. */
export function judgeStreams(
  out: FfprobeStreams,
): { ok: true; probe: Probe; endAt: number | undefined } | { ok: false; reason: string } {
  const streams = out.streams ?? [];
  // Cover art in an audio file is a one-picture "video" stream: not a video.
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (!video) return { ok: false, reason: 'the file has no video stream' };
  const width = video.width ?? 0;
  const height = video.height ?? 0;
  if (width <= 0 || height <= 0) return { ok: false, reason: 'the video stream has no picture size' };
  const streamDuration = seconds(video.duration);
  const duration = streamDuration ?? seconds(out.format?.duration) ?? 0;
  const start = seconds(out.format?.start_time) ?? 0;
  const audio = streams.find((s) => s.codec_type === 'audio');
  return {
    ok: true,
    probe: {
      duration_seconds: duration,
      width,
      height,
      video_codec: video.codec_name ?? 'unknown',
      audio_codec: audio?.codec_name ?? null,
      frame_rate: rate(video.avg_frame_rate) ?? rate(video.r_frame_rate) ?? 0,
    },
    endAt: duration > END_MARGIN_SECONDS ? start + duration - END_MARGIN_SECONDS : undefined,
  };
}

/** Whether the frames found by framesArgs show a decodable and complete stream. */
export function judgeFrames(frames: unknown[], checkedEnd: boolean): string | undefined {
  if (frames.length === 0) return 'the video stream cannot be decoded';
  if (checkedEnd && frames.length < 2) return 'the file is truncated: its video stops before its end';
  return undefined;
}

/**
 * A reason a person can read from ffprobe's error output: the lines without
 * the demuxer prefixes and without the input (a path or a presigned URL,
 * neither of which the owner should see).
 */
export function describeFailure(stderr: string, input: string): string {
  if (stderr.includes('Format not on whitelist')) {
    return 'the file is not in a video container Wavecast accepts (MP4, MOV, MKV, WebM, AVI, FLV, MPEG-TS, …)';
  }
  const lines = stderr
    .split('\n')
    .map((line) =>
      line
        .replaceAll(input, 'input')
        .replace(/^\[[^\]]* @ 0x[0-9a-f]+\]\s*/, '')
        .replace(/^input:\s*/, '')
        .trim(),
    )
    .filter((line) => line.length > 0);
  const unique = [...new Set(lines)].slice(0, 2);
  return `the file is not a media file ffprobe can read: ${unique.join('; ') || 'unknown error'}`;
}

function seconds(value: string | undefined): number | undefined {
  const n = value === undefined ? Number.NaN : Number.parseFloat(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function rate(value: string | undefined): number | undefined {
  const [num, den] = (value ?? '').split('/').map(Number);
  if (num === undefined || den === undefined || !Number.isFinite(num) || !(den > 0)) return undefined;
  const fps = num / den;
  return fps > 0 ? Math.round(fps * 1000) / 1000 : undefined;
}
