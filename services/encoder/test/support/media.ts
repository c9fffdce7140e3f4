/** Test media made by ffmpeg, and small helpers around processes. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface ClipOptions {
  seconds: number;
  /** Omit for an audio-only file. */
  size?: { width: number; height: number };
  fps?: number;
  audio?: boolean;
  /** Drop frames irregularly, as phones do (variable frame rate). */
  vfr?: boolean;
}

/** Writes an H.264/AAC MP4 (or an AAC .m4a without `size`) test pattern to `path`. */
export async function makeClip(path: string, opts: ClipOptions): Promise<void> {
  const inputs: string[] = [];
  const codecs: string[] = [];
  if (opts.size) {
    const { width, height } = opts.size;
    inputs.push('-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${opts.fps ?? 30}`);
    codecs.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '60');
    if (opts.vfr) codecs.push('-vf', String.raw`select=not(mod(n\,3))+not(mod(n\,5))`, '-fps_mode', 'vfr');
  }
  if (opts.audio ?? true) {
    inputs.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
    codecs.push('-c:a', 'aac', '-b:a', '96k');
  }
  await exec('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    ...inputs,
    '-t',
    String(opts.seconds),
    ...codecs,
    path,
  ]);
}

/** Duration and stream count that ffprobe reads from a playlist or manifest (give an absolute path). */
export async function probeFile(path: string): Promise<{ duration: number; streams: number }> {
  const { stdout } = await exec('ffprobe', [
    '-v',
    'error',
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    path,
  ]);
  const out = JSON.parse(stdout) as { format: { duration: string }; streams: unknown[] };
  return { duration: Number(out.format.duration), streams: out.streams.length };
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
