/**
 * Source files for the VOD benchmarks, and running ffmpeg/ffprobe bare (the
 * baselines). Generated clips are kept in `<tmp>/wavecast-bench-vod/` and
 * reused by later runs; per-run directories are removed on every exit path.
 * Every tool process started here runs in a process group of its own and
 * is killed if the benchmark exits while it runs (a SIGKILL of the benchmark
 * is the one path that leaves a running baseline ffmpeg to finish its
 * bounded run by itself).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log, num } from '../../lib/report.ts';

const running = new Set<ChildProcess>();
const dirs = new Set<string>();

/** Each tool runs in a process group of its own: the group is what gets killed. */
function killGroup(proc: ChildProcess): void {
  try {
    if (proc.pid) process.kill(-proc.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

process.once('exit', () => {
  for (const proc of running) killGroup(proc);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory for this run, in the OS temp directory (the platform child's data is there too). */
export function runDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `wavecast-bench-${prefix}-`));
  dirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

export interface ToolRun {
  wallMs: number;
  stdout: string;
}

/**
 * Runs `command args` to completion as a direct child (no shell), stdout
 * read (ffmpeg's `-progress pipe:1` reports are read and dropped, as the
 * encoder's runner reads them), stderr kept for the error message.
 */
export function runTool(command: string, args: readonly string[], keepStdout = false): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (text: string) => {
      if (keepStdout) stdout += text;
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (text: string) => {
      if (stderr.length < 8_000) stderr += text;
    });
    proc.once('error', (err) => {
      running.delete(proc);
      reject(err);
    });
    proc.once('close', (code, signal) => {
      running.delete(proc);
      const wallMs = performance.now() - started;
      if (code === 0) resolve({ wallMs, stdout });
      else reject(new Error(`${command} exited with ${signal ?? code}: ${stderr.trim().slice(0, 2_000)}`));
    });
  });
}

function mediaCache(): string {
  const dir = join(tmpdir(), 'wavecast-bench-vod');
  mkdirSync(dir, { recursive: true });
  return dir;
}

const exists = (path: string) => {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
};

export interface ClipSpec {
  width: number;
  height: number;
  fps: number;
  seconds: number;
}

/**
 * A test clip (testsrc2 pattern + 330 Hz tone, H.264 ultrafast + AAC, MP4
 * with its index in front), generated once and then reused.
 */
export async function ensureClip(ffmpeg: string, spec: ClipSpec): Promise<string> {
  const { width, height, fps, seconds } = spec;
  const path = join(mediaCache(), `testsrc2-${width}x${height}p${fps}-${seconds}s.mp4`);
  if (exists(path)) return path;
  log(`generating ${path}`);
  // Another run may generate the same file at the same time: each writes its own, the rename is atomic.
  const partial = `${path}.${process.pid}.partial.mp4`;
  try {
    await runTool(ffmpeg, [
      ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`],
      ...['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000'],
      ...['-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      ...['-c:a', 'aac', '-movflags', '+faststart', partial],
    ]);
    renameSync(partial, path);
  } finally {
    rmSync(partial, { force: true });
  }
  return path;
}

/**
 * `source` played back to back until the file holds at least `minBytes`
 * (`-stream_loop`, streams copied: a real, longer video that the upload's
 * ffprobe checks accept), written into `dir`.
 */
export async function loopedFile(ffmpeg: string, source: string, minBytes: number, dir: string) {
  const size = statSync(source).size;
  const loops = Math.max(0, Math.ceil(minBytes / size) - 1);
  const path = join(dir, `looped-x${loops + 1}.mp4`);
  const run = await runTool(ffmpeg, [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'],
    ...['-stream_loop', String(loops), '-i', source, '-map', '0', '-c', 'copy', path],
  ]);
  const bytes = statSync(path).size;
  log(`made ${path} (${num(bytes / 2 ** 20, 1)} MiB) in ${num(run.wallMs / 1000, 1)} s`);
  return { path, bytes };
}
