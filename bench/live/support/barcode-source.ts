/**
 * A live camera whose picture is its own wall clock: writes raw 8-bit gray
 * frames with the barcode of `Date.now()` (see barcode.ts) to an ffmpeg's
 * stdin at a steady frame rate, with a tone as PCM on fd 3 (one frame's worth
 * of samples per frame, so both share this clock), and ffmpeg encodes them as
 * a broadcaster would (x264 ultrafast/zerolatency, 1 s GOP, AAC), to
 * whatever output the arguments name (RTMP, or an HLS directory).
 *
 *   node barcode-source.ts '<json: {width, height, fps, seconds, output: string[]}>'
 *
 * Runs in its own process (the benchmark's event loop must not delay
 * frames), started in its own process group with its ffmpeg, and stops after
 * `seconds` or on SIGTERM/SIGINT. Prints one JSON line of pacing statistics
 * to stdout at the end.
 */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { encodeFrame } from './barcode.ts';

interface Args {
  width: number;
  height: number;
  fps: number;
  seconds: number;
  videoKbps: number;
  output: string[];
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const { width, height, fps, seconds } = args;

const ffmpeg = spawn(
  'ffmpeg',
  [
    '-hide_banner',
    '-loglevel',
    'error',
    '-probesize',
    '32',
    '-analyzeduration',
    '0',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'gray',
    '-video_size',
    `${width}x${height}`,
    '-framerate',
    String(fps),
    '-i',
    'pipe:0',
    // The microphone: PCM written by this process along with each frame, so that audio and video
    // share one clock (a lavfi source with -re runs on ffmpeg's clock instead, and the muxer then
    // holds video back until the audio timeline catches up: a third of a second here).
    // Raw inputs need no probing; probing either would wait for data the other one holds back.
    '-probesize',
    '32',
    '-analyzeduration',
    '0',
    '-f',
    's16le',
    '-ar',
    '48000',
    '-ac',
    '1',
    '-i',
    'pipe:3',
    '-map',
    '0:v',
    '-map',
    '1:a',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-g',
    String(fps),
    '-keyint_min',
    String(fps),
    '-b:v',
    `${args.videoKbps}k`,
    '-maxrate',
    `${args.videoKbps}k`,
    '-bufsize',
    `${args.videoKbps}k`,
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '96k',
    ...args.output,
  ],
  { stdio: ['pipe', 'ignore', 'inherit', 'pipe'] },
);
ffmpeg.stdin!.on('error', () => undefined);
const audio = ffmpeg.stdio[3] as Writable;
audio.on('error', () => undefined);
const SAMPLES_PER_FRAME = 48_000 / 30;
let sample = 0;
/** One frame's worth of a 440 Hz tone. */
function tone(): Buffer {
  const pcm = Buffer.allocUnsafe(SAMPLES_PER_FRAME * 2);
  for (let i = 0; i < SAMPLES_PER_FRAME; i++, sample++) {
    pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * sample) / 48_000)), i * 2);
  }
  return pcm;
}

const frameMs = 1000 / fps;
const frames = Math.round(seconds * fps);
let started = Date.now();
let sent = 0;
let late = 0;
let lateSumMs = 0;
let maxLateMs = 0;
let stopping = false;

function finish(code: number): void {
  if (stopping) return;
  stopping = true;
  ffmpeg.stdin!.end();
  audio.end();
  const timer = setTimeout(() => ffmpeg.kill('SIGKILL'), 3_000);
  ffmpeg.once('exit', (c) => {
    clearTimeout(timer);
    const stats = {
      frames: sent,
      framesLaterThanOneFrame: late,
      meanLateMs: Math.round(lateSumMs / Math.max(1, sent)),
      maxLateMs: Math.round(maxLateMs),
      ffmpegExit: c,
    };
    process.stdout.write(`${JSON.stringify(stats)}\n`);
    process.exit(code);
  });
}

ffmpeg.once('exit', (c) => {
  if (!stopping) {
    process.stderr.write(`barcode-source: ffmpeg exited (${c})\n`);
    process.exit(1);
  }
});

async function loop(): Promise<void> {
  // The clock of the schedule starts once ffmpeg took the first frame (it needs a moment to start).
  const first = Buffer.allocUnsafe(width * height);
  encodeFrame(first, width, height, Date.now());
  audio.write(tone());
  if (!ffmpeg.stdin!.write(first)) await new Promise((r) => ffmpeg.stdin!.once('drain', r));
  started = Date.now() - frameMs;
  sent = 1;
  while (!stopping && sent < frames) {
    const due = started + sent * frameMs;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const lateMs = Date.now() - due;
    if (lateMs > frameMs) late++;
    lateSumMs += Math.max(0, lateMs);
    maxLateMs = Math.max(maxLateMs, lateMs);
    const frame = Buffer.allocUnsafe(width * height);
    encodeFrame(frame, width, height, Date.now());
    audio.write(tone());
    sent++;
    if (!ffmpeg.stdin!.write(frame)) await new Promise((r) => ffmpeg.stdin!.once('drain', r));
  }
  finish(0);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => finish(0));
void loop();
