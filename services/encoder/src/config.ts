/** The encoder's settings, from the environment (parsed once by `loadConfig`). */
import { type ConfigOf, env, type Field, loadConfig } from '@wavecast/kit/config';
import { parseLadder, type Rung } from './ladder.ts';

export const x264Presets = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
  'slow',
  'slower',
] as const;

function ladderField(variable: string, fallback: string): Field<Rung[]> {
  return {
    variable,
    secret: false,
    parse(raw) {
      try {
        const rungs = parseLadder(raw || fallback);
        if (rungs.length > 0) return { ok: true, value: rungs };
        return { ok: false, error: 'must name at least one rung, e.g. 720:2800' };
      } catch (err) {
        return { ok: false, error: (err as Error).message };
      }
    },
  };
}

export const encoderConfigSpec = {
  /** `height:kbps` rungs; the height is the short side, so portrait videos get the same ladder. */
  ladder: ladderField('ENCODER_LADDER', '1080:5000,720:2800,480:1400,360:800,240:400'),
  segmentSeconds: env.int('ENCODER_SEGMENT_SECONDS', { default: 4, min: 1, max: 20 }),
  preset: env.oneOf('ENCODER_PRESET', x264Presets, { default: 'veryfast' }),
  /** Jobs one worker runs at once (its prefetch on the `encoder` queue). */
  concurrency: env.int('ENCODER_CONCURRENCY', { default: 1, min: 1, max: 32 }),
  /** Deliveries of one job before it fails for good (`video.failed.v1`) and is dead-lettered. */
  maxAttempts: env.int('ENCODER_MAX_ATTEMPTS', { default: 3, min: 1, max: 20 }),
  /** Delay before the first retry, doubled per attempt. */
  retryBackoffMs: env.int('ENCODER_RETRY_BACKOFF_MS', { default: 10_000, min: 0, max: 300_000 }),
  /** ffmpeg is killed when its `-progress` has not advanced for this long. */
  stallTimeoutSeconds: env.int('ENCODER_STALL_TIMEOUT_SECONDS', { default: 120, min: 1, max: 3600 }),
  ffmpegPath: env.str('FFMPEG_PATH', { default: 'ffmpeg' }),
  /** Default: `ffprobe` beside FFMPEG_PATH. */
  ffprobePath: env.optionalStr('FFPROBE_PATH'),
  /** Where sources are downloaded and outputs written before upload. Default: the OS temp directory. */
  tmpDir: env.optionalStr('ENCODER_TMP_DIR'),
};

export type EncoderConfig = ConfigOf<typeof encoderConfigSpec>;

/** Every default, for callers (tests, embedding) that override a few fields. */
export function defaultEncoderConfig(): EncoderConfig {
  return loadConfig(encoderConfigSpec, {});
}

/** `ffprobe` beside the configured ffmpeg (`/opt/ff/bin/ffmpeg` → `/opt/ff/bin/ffprobe`), else from PATH. */
export function ffprobePathFor(config: Pick<EncoderConfig, 'ffmpegPath' | 'ffprobePath'>): string {
  if (config.ffprobePath) return config.ffprobePath;
  return /ffmpeg(\.exe)?$/.test(config.ffmpegPath)
    ? config.ffmpegPath.replace(/ffmpeg(\.exe)?$/, 'ffprobe$1')
    : 'ffprobe';
}
