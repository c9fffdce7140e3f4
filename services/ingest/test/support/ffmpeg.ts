/** Test media made by ffmpeg, as a publisher would send it. */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface TestPattern {
  width: number;
  height: number;
  seconds: number;
  /** Send at real-time pace, as a live publisher does. */
  realtime?: boolean;
  gopFrames?: number;
}

/** An ffmpeg writing an H.264 + AAC test pattern as FLV to its stdout. */
export function flvTestPattern(p: TestPattern): { child: ChildProcess; flv: Readable } {
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    ...(p.realtime ? ['-re'] : []),
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${p.width}x${p.height}:rate=30`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(p.seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-g',
    String(p.gopFrames ?? 30),
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-f',
    'flv',
    'pipe:1',
  ];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  return { child, flv: child.stdout! };
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
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
