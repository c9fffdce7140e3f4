/**
 * Throughput of the LL-HLS origin with one live stream (passthrough,
 * 720p30 3 Mb/s) running: requests per second for
 *   (a) the media playlist, non-blocking (`/live/<ch>/source/index.m3u8`),
 *   (b) a recent part (`…/part-<msn>.<i>.m4s`; the newest listed part, which
 *       moves on 4 times a second, since parts are only kept near the edge).
 * The platform runs as its own process (`node apps/cli/src/main.ts start`);
 * the load comes from autocannon in this process.
 *
 * Baseline, same run and settings: nginx (1 worker, sendfile, open file
 * cache) serving the same bytes as static files: a snapshot of the playlist
 * and of one part.
 *
 * The stream first runs ORIGIN_WARM_SECONDS (default 125) so the playlist has
 * its steady-state size (the 120 s DVR window, as viewers get it).
 *
 *   npm exec -- node bench/live/origin.ts
 *   ORIGIN_WARM_SECONDS=20 ORIGIN_SECONDS=5 npm exec -- node bench/live/origin.ts
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon, { type Options, type Result } from 'autocannon';
import { busyCores, machineSample } from '../lib/machine-load.ts';
import { publishLoop, sourceFile } from './support/media.ts';
import { nginxAvailable, startNginxStatic } from './support/nginx.ts';
import {
  benchUsername,
  type Platform,
  registerStreamer,
  scratchRoot,
  startPlatform,
  waitForSegments,
} from './support/platform.ts';
import { parseProgress } from './support/playlist.ts';
import { awaitQuietMachine, fmt, log, runBench, sleep, table, treeCpu } from './support/procs.ts';
import {
  type HotFunction,
  hotFunctions,
  hotOwnFunctions,
  inspectorUrl,
  profileFor,
} from './support/profile.ts';

const CONNECTIONS = Number(process.env.ORIGIN_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.ORIGIN_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const WARM_STREAM_SECONDS = Number(process.env.ORIGIN_WARM_SECONDS ?? 125);
const CORES = os.cpus().length;
const PROFILE = process.env.ORIGIN_PROFILE === '1';
const profiles: string[] = [];

/** With ORIGIN_PROFILE=1: a V8 CPU profile of the platform process during a measured run. */
function profiler(platform: Platform, label: string): (() => Promise<void>) | undefined {
  const ws = inspectorUrl(platform.proc.stderrTail());
  if (!PROFILE || !ws) return undefined;
  return async () => {
    const cpu = await profileFor(ws, Math.max(1, SECONDS - 2));
    const rows = (list: HotFunction[]) =>
      list.map((r) => [r.name, r.where, fmt(r.selfMs), `${fmt(r.share * 100, 1)} %`]);
    profiles.push(
      [
        `V8 CPU profile of the Wavecast process during "${label}"`,
        table(['function (self time)', 'where', 'ms', 'share'], rows(hotFunctions(cpu, 12).rows)),
        table(['own function (inclusive)', 'where', 'ms', 'share'], rows(hotOwnFunctions(cpu, 15).rows)),
      ].join('\n'),
    );
  };
}

interface Outcome {
  name: string;
  rps: number;
  requests: number;
  bytesPerResponse: number;
  p50: number;
  p99: number;
  /** Server CPU (cores) during the run, less what it spent idle with the stream running. */
  serverCores: number;
  serverUsPerRequest: number;
  loadGeneratorCores: number;
  otherCores: number;
}

function run(opts: Options): Promise<Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/** Warm-up, then a measured run; the server's CPU is its process tree (`pids`) from /proc. */
async function measure(
  name: string,
  opts: Omit<Options, 'connections' | 'duration'>,
  pids: number[],
  idleCores: number,
  during?: () => Promise<void>,
): Promise<Outcome> {
  await awaitQuietMachine(name, 60);
  log(`${name}: ${WARMUP_SECONDS} s warm-up, ${SECONDS} s measured, ${CONNECTIONS} connections`);
  const common = { ...opts, connections: CONNECTIONS, pipelining: 1 };
  await run({ ...common, duration: WARMUP_SECONDS });
  const cpu0 = treeCpu(pids).total;
  const m0 = machineSample();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const [r] = await Promise.all([run({ ...common, duration: SECONDS }), during?.()]);
  const wall = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const cpu = (treeCpu(pids).total - cpu0) / wall;
  const machine = busyCores(m0, machineSample());
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0 || r.requests.total === 0) {
    throw new Error(
      `${name}: ${r.requests.total} responses, ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts ` +
        JSON.stringify(r.statusCodeStats),
    );
  }
  const generator = (self.user + self.system) / 1e6 / wall;
  const serverCores = Math.max(0, cpu - idleCores);
  return {
    name,
    rps: r.requests.average,
    requests: r.requests.total,
    bytesPerResponse: (r.throughput.average * SECONDS) / Math.max(1, r.requests.total),
    p50: r.latency.p50,
    p99: r.latency.p99,
    serverCores,
    serverUsPerRequest: (serverCores * wall * 1e6) / r.requests.total,
    loadGeneratorCores: generator,
    otherCores: Math.max(0, machine - cpu - generator),
  };
}

async function idleCoresOf(pids: number[], seconds = 5): Promise<number> {
  const a = treeCpu(pids).total;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  return (treeCpu(pids).total - a) / ((performance.now() - t0) / 1000);
}

runBench('origin', 900, async () => {
  const why = nginxAvailable(false);
  if (why) throw new Error(why);
  const file = (await sourceFile()).path;
  const platform = await startPlatform(
    { LIVE_PASSTHROUGH_ONLY: 'true' },
    { nodeArgs: PROFILE ? ['--inspect=127.0.0.1:0'] : [] },
  );
  const streamer = await registerStreamer(platform, benchUsername('origin'));
  const publisher = publishLoop(file, streamer.rtmpUrl);
  await waitForSegments(platform, streamer.name, 2, 30_000);
  const base = `${platform.url}/live/${streamer.name}/source/`;
  log(
    `origin: the stream runs ${WARM_STREAM_SECONDS} s first, so the playlist reaches its steady-state size`,
  );
  await sleep(WARM_STREAM_SECONDS * 1000);

  // The newest listed part, followed 4 times a second. While the Wavecast part run goes on, each
  // new part is also saved (same name), so nginx can serve the same parts in the same order.
  const root = path.join(platform.dataDir, 'static');
  mkdirSync(root);
  let part = '';
  let playlistBytes = 0;
  let following = true;
  let recordFrom = 0;
  const timeline: { at: number; name: string }[] = [];
  const follow = async () => {
    while (following) {
      const p = parseProgress(await fetch(`${base}index.m3u8`).then((r) => r.text()));
      const newest = p.partUris.at(-1);
      playlistBytes = p.bytes;
      if (newest && newest !== part) {
        part = newest;
        if (recordFrom > 0) {
          timeline.push({ at: Date.now() - recordFrom, name: newest });
          const bytes = Buffer.from(await (await fetch(`${base}${newest}`)).arrayBuffer());
          writeFileSync(path.join(root, newest), bytes);
        }
      }
      await sleep(250);
    }
  };
  const follower = follow();
  try {
    await sleep(500);
    if (!part) throw new Error('the playlist lists no part');

    // The baseline's playlist: a snapshot, byte for byte.
    const playlistBody = Buffer.from(await (await fetch(`${base}index.m3u8`)).arrayBuffer());
    writeFileSync(path.join(root, 'index.m3u8'), playlistBody);
    const nginx = await startNginxStatic(scratchRoot(), root);

    try {
      const wcPids = [platform.proc.pid];
      const idle = await idleCoresOf(wcPids);
      log(`origin: Wavecast idle with the stream running: ${fmt(idle, 3)} cores`);
      const wcPlaylist = await measure(
        'Wavecast playlist',
        { url: `${base}index.m3u8` },
        wcPids,
        idle,
        profiler(platform, 'playlist'),
      );
      const partPath = (name: string) => new URL(`${base}${name}`).pathname;
      const wcPart = await measure(
        'Wavecast part',
        {
          url: `${base}index.m3u8`,
          requests: [
            {
              method: 'GET',
              setupRequest: (req: Record<string, unknown>) => {
                if (recordFrom === 0) {
                  recordFrom = Date.now();
                  timeline.push({ at: 0, name: part });
                  void fetch(`${base}${part}`)
                    .then((r) => r.arrayBuffer())
                    .then((b) => writeFileSync(path.join(root, timeline[0]!.name), Buffer.from(b)));
                }
                return { ...req, path: partPath(part) };
              },
            } as never,
          ],
        },
        wcPids,
        idle,
        profiler(platform, 'part'),
      );
      recordFrom = -1; // stop recording
      await sleep(500);
      const ngPids = [nginx.pid];
      const ngIdle = await idleCoresOf(ngPids, 2);
      const ngPlaylist = await measure(
        'nginx static playlist',
        { url: `${nginx.url}/index.m3u8` },
        ngPids,
        ngIdle,
      );
      // The same parts, switched at the same moments after the first request.
      let replayFrom = 0;
      let at = 0;
      const ngPart = await measure(
        'nginx static part',
        {
          url: `${nginx.url}/index.m3u8`,
          requests: [
            {
              method: 'GET',
              setupRequest: (req: Record<string, unknown>) => {
                if (replayFrom === 0) replayFrom = Date.now();
                const elapsed = Date.now() - replayFrom;
                while (at + 1 < timeline.length && timeline[at + 1]!.at <= elapsed) at++;
                return { ...req, path: `/${timeline[at]!.name}` };
              },
            } as never,
          ],
        },
        ngPids,
        ngIdle,
      );
      const partBytes = timeline.length;

      const rows = [wcPlaylist, ngPlaylist, wcPart, ngPart];
      console.log(
        `\norigin throughput, one live stream (passthrough 720p30 3 Mb/s); autocannon ${CONNECTIONS} connections, ` +
          `${SECONDS} s after ${WARMUP_SECONDS} s warm-up; ${CORES} cores shared by server and load generator\n` +
          `playlist ${fmt(playlistBytes)} bytes (${fmt(playlistBody.length)} in the snapshot); ` +
          `${partBytes} different parts, each served while it was the newest\n`,
      );
      console.log(
        table(
          [
            '',
            'req/s',
            'MB/s',
            'bytes/resp',
            'p50 ms',
            'p99 ms',
            'server cores',
            'server µs/req',
            'loadgen cores',
            'other cores',
          ],
          rows.map((o) => [
            o.name,
            fmt(o.rps),
            fmt((o.rps * o.bytesPerResponse) / 1e6, 1),
            fmt(o.bytesPerResponse),
            fmt(o.p50),
            fmt(o.p99),
            fmt(o.serverCores, 2),
            fmt(o.serverUsPerRequest, 1),
            fmt(o.loadGeneratorCores, 2),
            fmt(o.otherCores, 2),
          ]),
        ),
      );
      const ratio = (a: Outcome, b: Outcome) =>
        `req/s ${fmt(a.rps / b.rps, 2)}, server CPU per request ${fmt(a.serverUsPerRequest / b.serverUsPerRequest, 1)}×`;
      console.log(`\nplaylist, Wavecast/nginx: ${ratio(wcPlaylist, ngPlaylist)}`);
      console.log(`part, Wavecast/nginx: ${ratio(wcPart, ngPart)}`);
      for (const p of profiles) console.log(`\n${p}`);
    } finally {
      await nginx.stop();
    }
  } finally {
    following = false;
    await follower.catch(() => undefined);
    await publisher.stop();
    await platform.stop();
  }
});
