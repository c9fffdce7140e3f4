import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { within } from './rtmp-support.ts';

const fixture = fileURLToPath(new URL('./rtmp-exit.fixture.ts', import.meta.url));
let child: ReturnType<typeof spawn> | undefined;

afterEach(() => {
  child?.kill('SIGKILL');
});

it('server.close() leaves no open handles: the process exits by itself', async () => {
  const started = Date.now();
  child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (c) => resolve(c)));
  const code = await within(exited, 20_000, 'the fixture process to exit on its own (open handles?)').catch(
    (err: Error) => {
      throw new Error(`${err.message}; its output:\n${out}`);
    },
  );
  expect(code, out).toBe(0);
  const result = JSON.parse(out.trim().split('\n').at(-1)!);
  expect(result.ended).toEqual({ reason: 'server-closed' });
  expect(result.ffmpegExit).not.toBe(0);
  console.info(`fixture exited cleanly in ${Date.now() - started} ms`);
});
