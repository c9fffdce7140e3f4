/**
 * Runs ffmpeg (or ffprobe) and owns the process: progress from `-progress
 * pipe:1`, an overall timeout, a stall timeout, an abort signal, and a
 * promise that settles only once the process is gone.
 *
 * No orphan on any path. ffmpeg reading a file does not notice its parent
 * dying (it ignores SIGPIPE and carries on when its progress pipe breaks), so
 * it runs under a small POSIX sh watchdog: the watchdog starts ffmpeg, then
 * blocks reading its own stdin, a pipe from this process. That read ends
 * when we close the pipe (ffmpeg has exited) or when this process dies,
 * even by SIGKILL; either way the watchdog kills ffmpeg, reaps it and exits
 * with its status. Timeouts and aborts close that pipe too, and SIGKILL the
 * whole process group should the watchdog not be gone 2 s later.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';

const WATCHDOG = [
  '"$@" </dev/null 3>&- &',
  'pid=$!',
  'echo "$pid" >&3',
  // Only ffmpeg holds stdout/stderr now: they end exactly when it exits.
  'exec 3>&- >/dev/null 2>&1',
  'while read -r _; do :; done',
  'kill -KILL "$pid"',
  'wait "$pid"',
].join('\n');

/** Bytes of stdout (ffprobe's JSON) and stderr kept. */
const MAX_STDOUT = 8 * 1024 * 1024;
const MAX_STDERR = 16 * 1024;

export interface Progress {
  /** Seconds of output written so far. */
  outTimeSeconds: number;
  /** True on the final report. */
  done: boolean;
}

export interface RunOptions {
  command: string;
  args: readonly string[];
  timeoutMs: number;
  /** With `onProgress`: kill when the output time has not advanced for this long. */
  stallTimeoutMs?: number;
  signal?: AbortSignal;
  /** Parses stdout as `-progress` reports instead of collecting it. */
  onProgress?: (progress: Progress) => void;
  /** The real process id (not the watchdog's), once known. */
  onStart?: (pid: number) => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export type RunFailure = 'exit' | 'timeout' | 'stall' | 'aborted';

export class RunError extends Error {
  override readonly name = 'RunError';
  readonly kind: RunFailure;
  readonly exitCode: number | null;
  /** The beginning of stderr, where ffmpeg says what went wrong first. */
  readonly stderr: string;

  constructor(kind: RunFailure, message: string, exitCode: number | null, stderr: string) {
    super(message);
    this.kind = kind;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

const signalNames = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));

function describeExit(command: string, code: number | null): string {
  if (code === 127) return `${command} could not be started (not found)`;
  // The watchdog reports a signalled child as 128 + n.
  if (code !== null && code > 128 && signalNames.has(code - 128)) {
    return `${command} was killed by ${signalNames.get(code - 128)}`;
  }
  return `${command} exited with code ${code}`;
}

/** Runs to completion; rejects with RunError on a non-zero exit, timeout, stall or abort. */
export function runProcess(opts: RunOptions): Promise<RunResult> {
  const name = opts.command.split('/').at(-1) ?? opts.command;
  if (opts.signal?.aborted) return Promise.reject(new RunError('aborted', `${name} aborted`, null, ''));
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'wavecast-watchdog', opts.command, ...opts.args], {
    detached: true, // its own process group, killed as one
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let killedFor: RunFailure | undefined;
  let lastAdvance = Date.now();
  let outTime = -1;

  let forceKill: NodeJS.Timeout | undefined;
  const kill = (why: RunFailure) => {
    if (killedFor) return;
    killedFor = why;
    // The watchdog kills and reaps ffmpeg when its stdin closes (no zombie
    // left for init to collect); the group is SIGKILLed should it not exit.
    child.stdin.end();
    forceKill = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }, 2_000);
  };
  const timeout = setTimeout(() => kill('timeout'), opts.timeoutMs);
  const stallMs = opts.stallTimeoutMs;
  const stall =
    opts.onProgress && stallMs !== undefined
      ? setInterval(
          () => {
            if (Date.now() - lastAdvance > stallMs) kill('stall');
          },
          Math.max(10, Math.min(1_000, stallMs / 4)),
        )
      : undefined;
  const onAbort = () => kill('aborted');
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  child.stdin.on('error', () => undefined); // EPIPE once the watchdog is gone
  const pidPipe = child.stdio[3] as Readable;
  pidPipe.setEncoding('utf8');
  pidPipe.on('data', (text: string) => {
    const pid = Number.parseInt(text, 10);
    if (pid > 0) opts.onStart?.(pid);
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < MAX_STDERR) stderr += text.slice(0, MAX_STDERR - stderr.length);
  });
  child.stdout.setEncoding('utf8');
  if (opts.onProgress) {
    const onProgress = opts.onProgress;
    parseProgress(child.stdout, (block) => {
      const us = Number(block.out_time_us);
      if (Number.isFinite(us) && us / 1e6 > outTime) {
        outTime = us / 1e6;
        lastAdvance = Date.now();
      }
      onProgress({ outTimeSeconds: Math.max(0, outTime), done: block.progress === 'end' });
    });
  } else {
    child.stdout.on('data', (text: string) => {
      if (stdout.length < MAX_STDOUT) stdout += text;
    });
  }
  // ffmpeg has exited when both of its output pipes end: release the watchdog.
  let ended = 0;
  const onEnd = () => ++ended === 2 && child.stdin.end();
  child.stdout.once('end', onEnd);
  child.stderr.once('end', onEnd);

  return new Promise<RunResult>((resolve, reject) => {
    // Only if /bin/sh itself cannot be spawned; 'close' follows and settles nothing new.
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timeout);
      clearTimeout(forceKill);
      clearInterval(stall);
      opts.signal?.removeEventListener('abort', onAbort);
      if (killedFor === 'timeout') {
        reject(new RunError('timeout', `${name} timed out after ${opts.timeoutMs} ms`, code, stderr));
      } else if (killedFor === 'stall') {
        reject(new RunError('stall', `${name} made no progress for ${stallMs} ms`, code, stderr));
      } else if (killedFor === 'aborted') {
        reject(new RunError('aborted', `${name} aborted`, code, stderr));
      } else if (code !== 0) {
        reject(new RunError('exit', describeExit(name, code), code, stderr));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/** Calls `onBlock` with each `key=value` report, which ends with a `progress=continue|end` line. */
function parseProgress(stream: Readable, onBlock: (block: Record<string, string>) => void): void {
  let pending = '';
  let block: Record<string, string> = {};
  stream.on('data', (text: string) => {
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      block[key] = line.slice(eq + 1).trim();
      if (key === 'progress') {
        onBlock(block);
        block = {};
      }
    }
  });
}
