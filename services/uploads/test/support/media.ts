/** Media files for upload tests, made once per test file with ffmpeg. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Media {
  /** 6 s of 640x360 H.264 at 30 fps with AAC audio, index at the end (ffmpeg's default). */
  clip: Buffer;
  /** The same clip with its index in front (`-movflags +faststart`). */
  faststart: Buffer;
  /** Just audio: a valid media file with no video stream. */
  audio: Buffer;
}

export async function makeMedia(dir: string): Promise<Media> {
  const clip = join(dir, 'clip.mp4');
  const faststart = join(dir, 'faststart.mp4');
  const audio = join(dir, 'audio.m4a');
  const quiet = ['-v', 'error', '-y'];
  await run('ffmpeg', [
    ...quiet,
    ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30'],
    ...['-c:a', 'aac', '-b:a', '96k', '-shortest', clip],
  ]);
  await run('ffmpeg', [...quiet, '-i', clip, '-c', 'copy', '-movflags', '+faststart', faststart]);
  await run('ffmpeg', [...quiet, '-i', clip, '-vn', '-c:a', 'copy', audio]);
  return {
    clip: await readFile(clip),
    faststart: await readFile(faststart),
    audio: await readFile(audio),
  };
}
