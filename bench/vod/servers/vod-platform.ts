/**
 * The all-in-one platform as bench/servers/platform.ts runs it (every
 * service, PGlite in memory, the in-memory bus, local storage in a temporary
 * data directory removed on exit, 127.0.0.1 only), plus a control server on
 * 127.0.0.1 for the VOD benchmarks (see ../lib/protocol.ts):
 *
 *   GET  /observations?video=<id>&until=<type>[,<type>]&timeout=<ms>
 *        the VOD events seen for the video, once one of `until` was seen (504 after `timeout`)
 *   POST /publish   {events: [{type, data}]}: published in order, as another service would
 *   POST /profile/start, POST /profile/stop?name=<name>
 *        a V8 CPU profile of this process between the two, written to bench/results/profiles/
 *
 * The observer is a bus group of its own (`bench.observer`): the bus fans
 * every event out to each group, so it sees what the catalog and the
 * encoder see and takes nothing from them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventSchemas } from '@wavecast/contracts/events';
import type { Envelope } from '@wavecast/kit/bus';
import { typedEvents } from '@wavecast/kit/events';
import { startChildPlatform } from '../../lib/child-platform.ts';
import type { ChildMessage } from '../../lib/protocol.ts';
import { procCpu } from '../lib/proc-cpu.ts';
import { nowMs, type Observation, type PublishRequest, type VodReady } from '../lib/protocol.ts';

const control = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(err instanceof Error ? err.message : String(err));
  });
});
const platform = await startChildPlatform({
  dirPrefix: 'wavecast-bench-vod-platform-',
  logLevel: 'warn',
  beforeClose: () => {
    control.closeAllConnections();
    control.close();
  },
});

// --- what the benchmark sees of the pipeline -------------------------------------------------

const typed = typedEvents(platform.bus, eventSchemas);
const seen = new Map<string, Observation[]>();
const waiters = new Set<() => void>();

function observe(envelope: Envelope, extra: Partial<Observation> = {}): void {
  const data = envelope.data as { video_id: string };
  const own = process.cpuUsage();
  const observation: Observation = {
    type: envelope.type,
    videoId: data.video_id,
    atMs: nowMs(),
    cpuSeconds: (own.user + own.system) / 1e6,
    childrenCpuSeconds: procCpu('self')?.childrenSeconds ?? Number.NaN,
    ...extra,
  };
  const list = seen.get(observation.videoId) ?? [];
  list.push(observation);
  seen.set(observation.videoId, list);
  for (const wake of [...waiters]) wake();
}

// The first reading asks `getconf` for the clock tick, synchronously: done now, not in the first handler.
procCpu('self');

const vodEvents = ['video.uploaded.v1', 'video.progress.v1', 'video.encoded.v1', 'video.failed.v1'];
await platform.bus.subscribe(
  'bench.observer',
  vodEvents,
  async (envelope) => {
    if (envelope.type === 'video.progress.v1') {
      const { percent, at } = envelope.data as { percent: number; at: string };
      observe(envelope, { percent, eventAtMs: Date.parse(at) });
    } else if (envelope.type === 'video.failed.v1') {
      observe(envelope, { reason: (envelope.data as { reason: string }).reason });
    } else {
      observe(envelope);
    }
  },
  { prefetch: 1000 },
);

// --- the control server -------------------------------------------------------------------------

const profiles = fileURLToPath(new URL('../../results/profiles/', import.meta.url));
let profiler: Session | undefined;

async function readJson<T>(req: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function waitFor(videoId: string, until: string[], timeoutMs: number): Promise<Observation[] | undefined> {
  const done = () => (seen.get(videoId) ?? []).some((o) => until.includes(o.type));
  if (done()) return Promise.resolve(seen.get(videoId));
  return new Promise((resolve) => {
    const finish = (result: Observation[] | undefined) => {
      clearTimeout(timer);
      waiters.delete(wake);
      resolve(result);
    };
    const wake = () => {
      if (done()) finish(seen.get(videoId));
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    waiters.add(wake);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://control');
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /observations') {
    const videoId = url.searchParams.get('video') ?? '';
    const until = (url.searchParams.get('until') ?? '').split(',').filter(Boolean);
    const timeoutMs = Number(url.searchParams.get('timeout') ?? 0);
    const list = until.length > 0 ? await waitFor(videoId, until, timeoutMs) : (seen.get(videoId) ?? []);
    if (list) reply(res, 200, { observations: list });
    else reply(res, 504, { observations: seen.get(videoId) ?? [] });
  } else if (route === 'POST /publish') {
    const { events } = await readJson<PublishRequest>(req);
    // Checked against the contracts as the services' own publishes are (a bad one is an error here).
    for (const { type, data } of events) await typed.publish(type as never, data as never);
    reply(res, 204);
  } else if (route === 'POST /profile/start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
    await profiler.post('Profiler.start');
    reply(res, 204);
  } else if (route === 'POST /profile/stop') {
    if (!profiler) return reply(res, 409, { error: 'no profile running' });
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = undefined;
    mkdirSync(profiles, { recursive: true });
    const name = (url.searchParams.get('name') ?? 'vod').replace(/[^A-Za-z0-9._-]/g, '_');
    const file = path.join(profiles, `${name}-${Date.now()}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    reply(res, 200, { file });
  } else {
    reply(res, 404, { error: `no route ${route}` });
  }
}

control.listen(0, '127.0.0.1', () => {
  const { port } = control.address() as AddressInfo;
  // bench/lib's ready message, with one more field the VOD benchmarks read.
  const ready: VodReady = { type: 'ready', url: platform.url, control: `http://127.0.0.1:${port}` };
  process.send?.(ready satisfies ChildMessage);
});
