/**
 * The rendition ladder of a video: which sizes, bitrates and frame rates to
 * encode, planned from the probed source. Rules:
 *
 * - A rung's height is the picture's SHORT side, so a portrait 1080x1920
 *   video gets the same ladder as a landscape 1920x1080 one (720p = 720x1280).
 * - Nothing is upscaled: rungs above the source's short side are skipped.
 * - A source between two rungs also gets a top rendition at its own size
 *   when it is more than 10% larger than the rung below it (a 600p source
 *   gets 600/480/360/240; a 500p one just 480/360/240: 4% is not worth a
 *   rendition). Its bitrate is interpolated between the neighbouring rungs.
 *   A source above the top rung is capped at the top rung.
 * - A source smaller than every rung is encoded once, at its own size.
 * - Dimensions are even (H.264 4:2:0), never larger than the source.
 * - Frame rate: constant, the source's (snapped to a standard rate), halved
 *   until it is at most 60 fps (short side >= 720) or 30 fps (below).
 * - No video stream: an audio-only ladder (AAC 128k and 64k).
 */
export interface Rung {
  /** The short side in pixels. */
  height: number;
  videoKbps: number;
}

/** What planning needs from the probe; sizes are as displayed (rotation and pixel aspect applied). */
export interface SourceInfo {
  durationSeconds: number | null;
  video: { index: number; width: number; height: number; fps: number } | null;
  audio: { index: number; sampleRate: number; channels: number } | null;
}

export interface Fps {
  num: number;
  den: number;
}

export interface VideoRendition {
  name: string;
  width: number;
  height: number;
  videoKbps: number;
  fps: Fps;
}

export interface AudioRendition {
  name: string;
  kbps: number;
}

export interface EncodePlan {
  /** Stream indexes in the source file. */
  videoIndex: number | null;
  audioIndex: number | null;
  /** Highest first. */
  video: VideoRendition[];
  /** One rendition with video; an audio-only ladder without. Empty when the source is silent. */
  audio: AudioRendition[];
  audioChannels: number;
  audioSampleRate: number;
}

/** A top rendition at the source size is added only when the source exceeds the rung below by more than this. */
const SOURCE_RUNG_MARGIN = 1.1;
const AUDIO_WITH_VIDEO: AudioRendition[] = [{ name: 'aac-128k', kbps: 128 }];
const AUDIO_ONLY: AudioRendition[] = [
  { name: 'aac-128k', kbps: 128 },
  { name: 'aac-64k', kbps: 64 },
];
const STANDARD_RATES: Fps[] = [
  { num: 24000, den: 1001 },
  { num: 24, den: 1 },
  { num: 25, den: 1 },
  { num: 30000, den: 1001 },
  { num: 30, den: 1 },
  { num: 48, den: 1 },
  { num: 50, den: 1 },
  { num: 60000, den: 1001 },
  { num: 60, den: 1 },
];

const evenDown = (n: number) => Math.max(2, Math.floor(n / 2) * 2);
const evenNear = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/** Parses `1080:5000,720:2800` (height:kbps pairs); throws a readable error. */
export function parseLadder(text: string): Rung[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    const m = /^\s*(\d{2,4})\s*:\s*(\d{2,6})\s*$/.exec(part);
    if (!m) throw new Error(`has "${part.trim()}" where height:kbps belongs, e.g. 720:2800`);
    return { height: Number(m[1]), videoKbps: Number(m[2]) };
  });
}

/** The constant output rate for a rendition whose short side is `shortSide`. */
export function outputFps(sourceFps: number, shortSide: number): Fps {
  const cap = shortSide >= 720 ? 60 : 30;
  let fps = Number.isFinite(sourceFps) && sourceFps > 0 ? sourceFps : 30;
  while (fps > cap * 1.01) fps /= 2;
  const distance = (r: Fps) => Math.abs(r.num / r.den - fps);
  const closest = STANDARD_RATES.reduce((best, r) => (distance(r) < distance(best) ? r : best));
  if (distance(closest) / fps < 0.015) return closest;
  return { num: Math.max(1, Math.round(fps)), den: 1 };
}

/** Which short-side sizes to encode, and at what bitrate, highest first. */
function pickRungs(shortSide: number, ladder: Rung[]): Rung[] {
  const sorted = [...new Map(ladder.map((r) => [r.height, r])).values()].sort((a, b) => b.height - a.height);
  const eligible = sorted.filter((r) => r.height <= shortSide);
  const below = eligible[0];
  const above = sorted.filter((r) => r.height > shortSide).at(-1);
  const own = evenDown(shortSide);
  if (!below) {
    const lowest = sorted.at(-1) as Rung;
    const kbps = Math.round(lowest.videoKbps * (own / lowest.height) ** 2);
    return [{ height: own, videoKbps: Math.max(100, kbps) }];
  }
  if (above && shortSide > below.height * SOURCE_RUNG_MARGIN && own > below.height) {
    const t = (own - below.height) / (above.height - below.height);
    const kbps = Math.round(below.videoKbps + t * (above.videoKbps - below.videoKbps));
    return [{ height: own, videoKbps: kbps }, ...eligible];
  }
  return eligible;
}

function videoRenditions(video: NonNullable<SourceInfo['video']>, ladder: Rung[]): VideoRendition[] {
  const portrait = video.height > video.width;
  const short = portrait ? video.width : video.height;
  const long = portrait ? video.height : video.width;
  return pickRungs(short, ladder).map((rung) => {
    const shortOut = Math.min(evenDown(short), rung.height % 2 === 0 ? rung.height : evenDown(rung.height));
    const longOut = Math.min(evenDown(long), evenNear((shortOut * long) / short));
    return {
      name: `${rung.height}p`,
      width: portrait ? shortOut : longOut,
      height: portrait ? longOut : shortOut,
      videoKbps: rung.videoKbps,
      fps: outputFps(video.fps, shortOut),
    };
  });
}

/** Plans the encode of a probed source; throws when it has neither video nor audio. */
export function planEncode(source: SourceInfo, ladder: Rung[]): EncodePlan {
  if (!source.video && !source.audio) throw new Error('the file has no video or audio stream');
  if (ladder.length === 0) throw new Error('the ladder has no rungs');
  const audio = source.audio;
  return {
    videoIndex: source.video?.index ?? null,
    audioIndex: audio?.index ?? null,
    video: source.video ? videoRenditions(source.video, ladder) : [],
    audio: !audio ? [] : source.video ? AUDIO_WITH_VIDEO : AUDIO_ONLY,
    audioChannels: Math.min(2, Math.max(1, audio?.channels ?? 2)),
    audioSampleRate: audio && [44_100, 48_000].includes(audio.sampleRate) ? audio.sampleRate : 48_000,
  };
}
