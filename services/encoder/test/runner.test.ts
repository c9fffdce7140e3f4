import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import { type Progress, RunError, runProcess } from '../src/runner.ts';
import { alive } from './support/media.ts';

const quietFfmpeg = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1'];

async function failure(promise: Promise<unknown>): Promise<RunError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RunError);
  return err as RunError;
}

describe('runProcess', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('streams -progress reports and resolves when ffmpeg exits 0', async () => {
    const reports: Progress[] = [];
    const pids: number[] = [];
    await runProcess({
      command: 'ffmpeg',
      args: [
        ...quietFfmpeg,
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x180:rate=30',
        '-t',
        '3',
        '-f',
        'null',
        '-',
      ],
      timeoutMs: 30_000,
      stallTimeoutMs: 10_000,
      onProgress: (p) => reports.push(p),
      onStart: (pid) => pids.push(pid),
    });
    expect(pids).toHaveLength(1);
    expect(alive(pids[0]!)).toBe(false);
    const times = reports.map((r) => r.outTimeSeconds);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(reports.at(-1)).toEqual({ outTimeSeconds: expect.closeTo(3, 1), done: true });
  });

  it('collects stdout when there is no progress to parse (ffprobe)', async () => {
    const { stdout } = await runProcess({
      command: 'ffprobe',
      args: [
        '-v',
        'error',
        '-print_format',
        'json',
        '-show_entries',
        'format=format_name',
        '-f',
        'lavfi',
        'sine',
      ],
      timeoutMs: 30_000,
    });
    expect(JSON.parse(stdout)).toEqual({ format: { format_name: 'lavfi' } });
  });

  it('rejects a non-zero exit with what ffmpeg said', async () => {
    const err = await failure(
      runProcess({
        command: 'ffmpeg',
        args: [...quietFfmpeg, '-i', '/nonexistent/input.mp4'],
        timeoutMs: 30_000,
      }),
    );
    expect(err).toMatchObject({ kind: 'exit', exitCode: 1, message: 'ffmpeg exited with code 1' });
    expect(err.stderr).toContain('No such file or directory');
  });

  it('says when the program cannot be found', async () => {
    const err = await failure(runProcess({ command: '/nonexistent/ffmpeg', args: [], timeoutMs: 30_000 }));
    expect(err).toMatchObject({
      kind: 'exit',
      exitCode: 127,
      message: 'ffmpeg could not be started (not found)',
    });
  });

  it('kills the process on the overall timeout and waits for it', async () => {
    let pid = 0;
    const started = Date.now();
    const err = await failure(
      runProcess({
        command: 'sleep',
        args: ['30'],
        timeoutMs: 300,
        onStart: (p) => {
          pid = p;
        },
      }),
    );
    expect(err.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });

  it('kills a process whose progress stops advancing', async () => {
    let pid = 0;
    const err = await failure(
      runProcess({
        command: 'sleep',
        args: ['30'],
        timeoutMs: 30_000,
        stallTimeoutMs: 300,
        onProgress: () => undefined,
        onStart: (p) => {
          pid = p;
        },
      }),
    );
    expect(err.kind).toBe('stall');
    expect(alive(pid)).toBe(false);
  });

  it('kills the process on abort, and does not start one when already aborted', async () => {
    const ac = new AbortController();
    let pid = 0;
    const run = runProcess({
      command: 'ffmpeg',
      args: [...quietFfmpeg, '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180', '-f', 'null', '-'],
      timeoutMs: 30_000,
      signal: ac.signal,
      onProgress: () => undefined,
      onStart: (p) => {
        pid = p;
        ac.abort();
      },
    });
    expect((await failure(run)).kind).toBe('aborted');
    expect(alive(pid)).toBe(false);
    const again = runProcess({ command: 'sleep', args: ['30'], timeoutMs: 30_000, signal: ac.signal });
    expect((await failure(again)).kind).toBe('aborted');
  });

  it('leaves no ffmpeg behind when the worker process is SIGKILLed', async () => {
    const script = fileURLToPath(new URL('./support/runner-child.ts', import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => void child.kill('SIGKILL'));
    const ffmpegPid = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const m = /ffmpeg (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error('the worker exited before starting ffmpeg')));
    });
    expect(alive(ffmpegPid)).toBe(true);
    child.kill('SIGKILL');
    await eventually(async () => expect(alive(ffmpegPid)).toBe(false), 5_000);
  });
});
