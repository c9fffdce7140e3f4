/**
 * Media for the live benchmarks: one pre-encoded 720p30 H.264 + AAC FLV file
 * (encoded once, kept in the temporary directory between runs), and
 * publishers that replay it in real time with `-c copy`, which costs little
 * CPU, so that many streams can be published from a 2-core machine.
 */
import { existsSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { log, type Proc, start } from './procs.ts';

export interface SourceFile {
  path: string;
  seconds: number;
  videoKbps: number;
  width: number;
  height: number;
}

/**
 * 720p30, 3 Mbps (CBR-like VBV), keyframe every 30 frames, AAC 128 kb/s, `seconds` long.
 * Noise on testsrc2 keeps x264 from undershooting the rate on synthetic video.
 */
export async function sourceFile(seconds = 40): Promise<SourceFile> {
  const file = path.join(tmpdir(), `wavecast-bench-720p30-3mbps-${seconds}s.flv`);
  const info = { path: file, seconds, videoKbps: 3000, width: 1280, height: 720 };
  if (existsSync(file) && statSync(file).size > seconds * 300_000) return info;
  log(`encoding the ${seconds} s 720p30 3 Mbps source file once (${file})…`);
  const partial = `${file}.partial.flv`;
  const enc = start('encode', 'ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=1280x720:rate=30,noise=alls=12:allf=t`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    '3000k',
    '-maxrate',
    '3000k',
    '-bufsize',
    '3000k',
    '-g',
    '30',
    '-keyint_min',
    '30',
    '-sc_threshold',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-f',
    'flv',
    partial,
  ]);
  const code = await enc.exited;
  if (code !== 0) throw new Error(`encoding the source file failed (${code}): ${enc.stderrTail()}`);
  renameSync(partial, file);
  return info;
}

/** `ffmpeg -re -stream_loop -1 -i file -c copy -f flv <url>`: a real-time publisher at almost no CPU. */
export function publishLoop(file: string, url: string, name = 'publisher'): Proc {
  return start(name, 'ffmpeg', [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-re',
    '-stream_loop',
    '-1',
    '-i',
    file,
    '-c',
    'copy',
    '-f',
    'flv',
    url,
  ]);
}
