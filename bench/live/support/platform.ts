/**
 * The Wavecast platform under test: the real all-in-one process
 * (`node apps/cli/src/main.ts start`) in a child process, PGlite in memory,
 * a temporary data directory, on free ports of 127.0.0.1; and streamers
 * registered through the public API as a person would.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { log, onCleanup, type Proc, start } from './procs.ts';

const MAIN = fileURLToPath(new URL('../../../apps/cli/src/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface Platform {
  proc: Proc;
  /** http://127.0.0.1:<port> */
  url: string;
  rtmpPort: number;
  dataDir: string;
  /** Warnings and errors the platform logged (pino lines), newest last. */
  logTail(): string;
  stop(): Promise<void>;
}

/** Where temporary media goes: tmpfs when there is one, so disk speed plays no part. */
export function scratchRoot(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

export async function startPlatform(
  env: Record<string, string>,
  opts: { nodeArgs?: string[]; timeoutMs?: number } = {},
): Promise<Platform> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const dataDir = mkdtempSync(path.join(scratchRoot(), 'wavecast-live-bench-'));
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  const unregister = onCleanup(removeDir);
  const proc = start(
    'platform',
    process.execPath,
    ['--disable-warning=ExperimentalWarning', ...(opts.nodeArgs ?? []), MAIN, 'start'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        WAVECAST_DATA_DIR: dataDir,
        DATABASE_URL: 'pglite:memory',
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        RTMP_HOST: '127.0.0.1',
        RTMP_PORT: '0',
        RATE_LIMIT_PER_MINUTE: '0',
        AUTH_RATE_LIMIT_PER_MINUTE: '0',
        LOG_LEVEL: 'warn',
        ...env,
      },
    },
  );
  let out = '';
  let logTail = '';
  const ready = new Promise<{ url: string; rtmpPort: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the platform did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
    proc.child.stdout?.on('data', (d: Buffer) => {
      const text = d.toString();
      logTail = (logTail + text).slice(-8_000);
      if (out.length < 100_000) out += text;
      const api = /API\s+http:\/\/localhost:(\d+)\/v1/.exec(out);
      const rtmp = /RTMP\s+rtmp:\/\/localhost:(\d+)\//.exec(out);
      if (api && rtmp) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${api[1]}`, rtmpPort: Number(rtmp[1]) });
      }
    });
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the platform exited (${code}): ${proc.stderrTail()}${out.slice(-2_000)}`));
    });
  });
  const stop = async () => {
    await proc.stop(10_000);
    removeDir();
    unregister();
  };
  try {
    const { url, rtmpPort } = await ready;
    return { proc, url, rtmpPort, dataDir, logTail: () => logTail, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function call(method: string, url: string, body?: unknown, token?: string): Promise<any> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export interface Streamer {
  /** The channel name: playback is under /live/<name>/. */
  name: string;
  streamKey: string;
  /** rtmp://127.0.0.1:<port>/live/<key> */
  rtmpUrl: string;
}

/** Registers an account and reads its channel's stream key, as a streamer does. */
export async function registerStreamer(platform: Platform, username: string): Promise<Streamer> {
  const reg = await call('POST', `${platform.url}/v1/auth/register`, {
    username,
    email: `${username}@bench.example`,
    password: 'correct horse battery staple',
  });
  const channel = await call('GET', `${platform.url}/v1/me/channel`, undefined, reg.access_token);
  return {
    name: channel.name,
    streamKey: channel.stream_key,
    rtmpUrl: `rtmp://127.0.0.1:${platform.rtmpPort}/live/${channel.stream_key}`,
  };
}

/** A unique, valid username per run. */
export function benchUsername(prefix: string, i = 0): string {
  return `${prefix}${Date.now().toString(36)}${i}`;
}

/** Resolves once the channel's source media playlist lists `segments` complete segments. */
export async function waitForSegments(
  platform: Platform,
  name: string,
  segments: number,
  timeoutMs: number,
): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${platform.url}/live/${name}/source/index.m3u8`);
      const text = await res.text();
      if (res.ok && (text.match(/^#EXTINF/gm)?.length ?? 0) >= segments) return text;
    } catch {
      // not yet
    }
    if (Date.now() > end) {
      throw new Error(
        `channel ${name} had no ${segments} segments within ${timeoutMs} ms\n${platform.logTail()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export { log };
