/**
 * Runs ffprobe over an uploaded file and turns its answers into a verdict
 * (./probe.ts decides). A file ffprobe rejects is a verdict; ffprobe itself
 * failing to run (missing, killed, timed out) is AppError('unavailable'), so
 * the upload stays and can be judged again.
 */
import { spawn } from 'node:child_process';
import { AppError } from '@wavecast/kit/errors';
import {
  describeFailure,
  type FfprobeStreams,
  framesArgs,
  judgeFrames,
  judgeStreams,
  streamsArgs,
  type Verdict,
} from './probe.ts';

export type Prober = (input: string) => Promise<Verdict>;

const TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 4 * 1024 * 1024;

export function ffprober(ffprobePath: string): Prober {
  return async (input) => {
    const header = await run(ffprobePath, streamsArgs(input));
    if (header.code !== 0) return { ok: false, reason: describeFailure(header.stderr, input) };
    const streams = judgeStreams(JSON.parse(header.stdout) as FfprobeStreams);
    if (!streams.ok) return streams;
    const decoded = await run(ffprobePath, framesArgs(input, streams.endAt));
    if (decoded.code !== 0) return { ok: false, reason: describeFailure(decoded.stderr, input) };
    const frames = (JSON.parse(decoded.stdout) as { frames?: unknown[] }).frames ?? [];
    const problem = judgeFrames(frames, streams.endAt !== undefined);
    return problem ? { ok: false, reason: problem } : { ok: true, probe: streams.probe };
  };
}

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) child.kill('SIGKILL');
      else into.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.once('error', (cause) => {
      clearTimeout(timer);
      reject(new AppError('unavailable', `cannot run ffprobe (${command})`, { cause }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== null) {
        reject(new AppError('unavailable', `ffprobe was stopped (${signal}) before it answered`));
        return;
      }
      resolve({
        code: code ?? 1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}
