/** `wavecast start encoder` as its own process: ops endpoints, clean SIGTERM, readable start-up errors. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const mainModule = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function start(env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', `(await import(${JSON.stringify(mainModule)})).main()`],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('encoder main', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('serves /healthz /readyz /metrics and exits cleanly on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wavecast-encoder-main-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const run = start({
      BUS_URL: 'memory:',
      STORAGE_URL: `file:${join(dir, 'storage')}`,
      ENCODER_TMP_DIR: join(dir, 'work'),
      OPS_PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    cleanups.push(() => void run.child.kill('SIGKILL'));
    const port = await new Promise<number>((resolve, reject) => {
      run.child.stdout.on('data', () => {
        const m = /"opsPort":(\d+).*"msg":"encoder is serving"/.exec(run.output().stdout);
        if (m) resolve(Number(m[1]));
      });
      void run.exited.then(() => reject(new Error(`exited early: ${run.output().stderr}`)));
    });
    const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
    expect((await get('/healthz')).status).toBe(200);
    expect(await (await get('/readyz')).json()).toEqual({ status: 'ready' });
    expect(await (await get('/metrics')).text()).toContain('wavecast_bus_messages_total');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 30_000);

  it('refuses to start with one line naming every invalid variable', async () => {
    const run = start({
      ENCODER_LADDER: '720:2800,480',
      ENCODER_CONCURRENCY: '0',
      ENCODER_PRESET: 'warp',
      BUS_URL: 'memory:',
    });
    expect(await run.exited).toBe(1);
    expect(run.output().stderr).toBe(
      'wavecast encoder: cannot start: invalid configuration: ENCODER_LADDER has "480" where height:kbps belongs, e.g. 720:2800; ENCODER_PRESET must be one of ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, got "warp"; ENCODER_CONCURRENCY must be >= 1\n',
    );
  });

  it('refuses to start without ffmpeg', async () => {
    const run = start({
      FFMPEG_PATH: '/nonexistent/ffmpeg',
      BUS_URL: 'memory:',
      STORAGE_URL: 'file:/tmp/wavecast-unused',
    });
    expect(await run.exited).toBe(1);
    expect(run.output().stderr).toBe(
      'wavecast encoder: cannot start: /nonexistent/ffmpeg cannot run (ffmpeg could not be started (not found)); install ffmpeg or set FFMPEG_PATH\n',
    );
  });
});
