/**
 * Reads a source file's streams with ffprobe and reduces them to what
 * planning needs. Sizes are as displayed: ffmpeg applies the rotation
 * (phone videos) and the pixel aspect ratio when it decodes, so the ladder is
 * planned on the picture a viewer sees.
 */
import type { SourceInfo } from './ladder.ts';

interface ProbeStream {
  index?: number;
  codec_type?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  sample_rate?: string;
  channels?: number;
  disposition?: { attached_pic?: number };
  tags?: { rotate?: string };
  side_data_list?: { rotation?: number }[];
}

interface ProbeOutput {
  streams?: ProbeStream[];
  format?: { duration?: string };
}

export function probeArgs(input: string): string[] {
  return ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', input];
}

/** `30000/1001` → 29.97; `0/0`, `N/A` → NaN. */
function rate(text: string | undefined): number {
  const [num, den] = (text ?? '').split('/').map(Number);
  return num !== undefined && den !== undefined && den > 0 ? num / den : Number.NaN;
}

function rotation(stream: ProbeStream): number {
  const fromSideData = stream.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation;
  const degrees = fromSideData ?? Number(stream.tags?.rotate ?? 0);
  return ((Math.round(degrees) % 360) + 360) % 360;
}

function displaySize(stream: ProbeStream): { width: number; height: number } {
  const width = stream.width ?? 0;
  const height = stream.height ?? 0;
  const sar = rate(stream.sample_aspect_ratio?.replace(':', '/'));
  const displayWidth = Number.isFinite(sar) && sar > 0 ? Math.round(width * sar) : width;
  const quarter = rotation(stream);
  return quarter === 90 || quarter === 270
    ? { width: height, height: displayWidth }
    : { width: displayWidth, height };
}

/** Parses `ffprobe -print_format json -show_format -show_streams` output. */
export function parseProbe(json: string): SourceInfo {
  const out = JSON.parse(json) as ProbeOutput;
  const streams = out.streams ?? [];
  // Cover art in audio files is a "video" stream of one picture: not a video.
  const video = streams.find(
    (s) => s.codec_type === 'video' && !s.disposition?.attached_pic && (s.width ?? 0) > 0,
  );
  const audio = streams.find((s) => s.codec_type === 'audio');
  const duration = Number(out.format?.duration);
  return {
    durationSeconds: Number.isFinite(duration) && duration > 0 ? duration : null,
    video: video
      ? {
          index: video.index ?? 0,
          ...displaySize(video),
          fps: Number.isFinite(rate(video.avg_frame_rate))
            ? rate(video.avg_frame_rate)
            : rate(video.r_frame_rate),
        }
      : null,
    audio: audio
      ? { index: audio.index ?? 0, sampleRate: Number(audio.sample_rate) || 0, channels: audio.channels ?? 2 }
      : null,
  };
}
