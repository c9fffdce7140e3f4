/**
 * How many concurrent live streams one Wavecast process ingests and
 * packages in real time, with transcoding off (LIVE_PASSTHROUGH_ONLY=true:
 * one `ffmpeg -c copy` remuxer per stream, LL-HLS packaging, recording and
 * thumbnails at their defaults), and what each costs in CPU.
 *
 * Every stream is the same pre-encoded 720p30 3 Mb/s H.264 + AAC file
 * replayed in real time with `ffmpeg -re -stream_loop -1 -c copy` (encoding
 * N live streams would itself saturate the machine). N ramps up
 * (CAPACITY_STEPS, default 10,20,…,60); after all N streams are live and a
 * settling time, a window of CAPACITY_WINDOW_SECONDS (20 s) is measured:
 *   - real time: per stream, seconds of media its source playlist completed
 *     in the window ÷ wall seconds (≥ 0.95), and how far the newest part's
 *     PROGRAM-DATE-TIME is behind the clock at the end (≤ 2.5 s);
 *   - CPU: the Wavecast process tree (node + its ffmpegs, exited ones
 *     included) from /proc, per stream; also the publishers' CPU and the
 *     whole machine's, since they share the 2 cores.
 * The ramp stops at the first N where a stream falls behind.
 *
 * Baseline, same run: nginx-rtmp (`hls on; hls_fragment 1s`, to tmpfs)
 * ingesting the same N streams from the same publishers: real time from its
 * playlists on disk, CPU per stream. Prints the ratio Wavecast/nginx of CPU
 * per stream. Target: ≥ 50 streams in real time.
 *
 *   npm exec -- node bench/live/capacity.ts
 *   CAPACITY_STEPS=5,10 CAPACITY_WINDOW_SECONDS=10 npm exec -- node bench/live/capacity.ts
 *   CAPACITY_PROFILE=1 …   # + a 10 s V8 CPU profile of the Wavecast process at the highest N
 */

import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { busyCores, machineSample } from '../lib/machine-load.ts';
import { publishLoop, sourceFile } from './support/media.ts';
import { nginxAvailable, startNginxRtmp } from './support/nginx.ts';
import {
  benchUsername,
  type Platform,
  registerStreamer,
  type Streamer,
  scratchRoot,
  startPlatform,
} from './support/platform.ts';
import { mediaBetween, type PlaylistProgress, parseProgress } from './support/playlist.ts';
import {
  awaitQuietMachine,
  cpuDelta,
  fmt,
  log,
  type Proc,
  runBench,
  sleep,
  table,
  treeCpu,
} from './support/procs.ts';
import {
  hotFunctions,
  hotOwnFunctions,
  inspectorUrl,
  profileFor,
  selfByOwnCaller,
} from './support/profile.ts';

const STEPS = (process.env.CAPACITY_STEPS ?? '5,10,12,14,16,18,20,25,30,40,50,60').split(',').map(Number);
/** Extra platform settings for diagnostic runs, as JSON, e.g. '{"LIVE_THUMBNAIL_SECONDS":"600"}'. */
const EXTRA_ENV = JSON.parse(process.env.CAPACITY_PLATFORM_ENV ?? '{}') as Record<string, string>;
const SKIP_NGINX = process.env.CAPACITY_BASELINE === '0';
const WINDOW_SECONDS = Number(process.env.CAPACITY_WINDOW_SECONDS ?? 20);
const SETTLE_SECONDS = Number(process.env.CAPACITY_SETTLE_SECONDS ?? 6);
const PROFILE = process.env.CAPACITY_PROFILE === '1';
const MIN_RATE = 0.95;
const QUIET_WAIT_SECONDS = Number(process.env.CAPACITY_QUIET_WAIT_SECONDS ?? 90);
const QUIET_CORES = 0.3;
const MAX_LAG_S = 2.5;
const TARGET_STREAMS = 50;
const CORES = os.cpus().length;

interface Step {
  streams: number;
  realtime: number;
  minRate: number;
  maxLagS: number;
  /** Cores the server (Wavecast tree or nginx) kept busy during the window. */
  serverCores: number;
  /** The same by process name. */
  byComm: Record<string, number>;
  publisherCores: number;
  machineCores: number;
  rssMiB: number;
  /** Server CPU per stream, in % of one core. */
  perStreamPct: number;
  /** Cores other processes on the machine (not ours) kept busy during the window. */
  otherCores: number;
  /** Measured a second time after a window disturbed by other load. */
  retried?: boolean;
}

interface Target {
  name: string;
  /** The pids whose process trees are the server. */
  roots: number[];
  /** Starts publisher `i` (0-based). */
  publish(i: number): Proc;
  /** The stream's current playlist progress, or undefined if it has none yet. */
  progress(i: number): Promise<PlaylistProgress | undefined>;
  /** Whether `lag` (PDT behind the clock) is measurable. */
  hasPdt: boolean;
}

function rssMiB(pids: number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kib += Number(m?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kib / 1024;
}

/** Ramps the streams on `target`; stops after the first step where a stream falls behind (or at `maxSteps`). */
async function ramp(target: Target, steps: number[], onTop?: (n: number) => Promise<void>): Promise<Step[]> {
  const publishers: Proc[] = [];
  const out: Step[] = [];
  const measureWindow = async (n: number): Promise<Step> => {
    const pubPids = publishers.map((p) => p.pid);
    const before = await Promise.all(publishers.map((_, i) => target.progress(i)));
    const t0 = Date.now();
    const cpu0 = treeCpu(target.roots);
    const self0 = process.cpuUsage();
    const pub0 = treeCpu(pubPids);
    const m0 = machineSample();
    await sleep(WINDOW_SECONDS * 1000);
    const cpu1 = treeCpu(target.roots);
    const selfUse = process.cpuUsage(self0);
    const pub1 = treeCpu(pubPids);
    const m1 = machineSample();
    const t1 = Date.now();
    const after = await Promise.all(publishers.map((_, i) => target.progress(i)));
    const wall = (t1 - t0) / 1000;
    let realtime = 0;
    let minRate = Number.POSITIVE_INFINITY;
    let maxLag = 0;
    for (let i = 0; i < n; i++) {
      const a = before[i];
      const b = after[i];
      const rate = a && b ? mediaBetween(a, b) / wall : 0;
      // The playlist was read just after t1: the newest part ended at most that long ago.
      const lag = b && target.hasPdt ? (t1 - b.edgeMs) / 1000 : 0;
      minRate = Math.min(minRate, rate);
      maxLag = Math.max(maxLag, lag);
      if (rate >= MIN_RATE && lag <= MAX_LAG_S) realtime++;
    }
    const server = cpuDelta(cpu0, cpu1);
    const cores = server.total / wall;
    const step: Step = {
      streams: n,
      realtime,
      minRate,
      maxLagS: maxLag,
      serverCores: cores,
      byComm: Object.fromEntries(Object.entries(server.byComm).map(([k, v]) => [k, v / wall])),
      publisherCores: cpuDelta(pub0, pub1).total / wall,
      machineCores: busyCores(m0, m1),
      rssMiB: rssMiB(target.roots),
      perStreamPct: (100 * cores) / n,
      otherCores: 0,
    };
    const selfCores = (selfUse.user + selfUse.system) / 1e6 / wall;
    step.otherCores = Math.max(0, step.machineCores - step.serverCores - step.publisherCores - selfCores);
    return step;
  };
  try {
    for (const n of steps) {
      log(`${target.name}: ${n} streams`);
      while (publishers.length < n) {
        publishers.push(target.publish(publishers.length));
        // Staggered, as broadcasters arrive: keyframes and segment boundaries do not all line up.
        await sleep(60);
      }
      // Every stream live, with two complete segments.
      const liveBy = Date.now() + 30_000;
      for (let i = 0; i < n; i++) {
        for (;;) {
          const p = await target.progress(i).catch(() => undefined);
          if (p && p.segments.size >= 2) break;
          if (publishers[i]!.child.exitCode !== null) {
            throw new Error(`publisher ${i} exited: ${publishers[i]!.stderrTail()}`);
          }
          if (Date.now() > liveBy) throw new Error(`${target.name}: stream ${i} not live within 30 s`);
          await sleep(250);
        }
      }
      await sleep(SETTLE_SECONDS * 1000);
      await awaitQuietMachine(`${target.name} ${n} streams`, QUIET_WAIT_SECONDS);
      let step = await measureWindow(n);
      if (step.realtime < n && step.otherCores > QUIET_CORES) {
        // Other processes took the CPU: give the streams a chance to catch up on a quiet machine.
        log(
          `  disturbed by ${fmt(step.otherCores, 2)} cores of other load; measuring again once it is quiet`,
        );
        await awaitQuietMachine(`${target.name} ${n} streams`, QUIET_WAIT_SECONDS);
        await sleep(SETTLE_SECONDS * 1000);
        step = { ...(await measureWindow(n)), retried: true };
      }
      out.push(step);
      log(
        `  ${step.realtime}/${n} real time (slowest ${fmt(step.minRate, 3)}× wall, max lag ${fmt(step.maxLagS, 2)} s); ` +
          `server ${fmt(step.serverCores, 2)} cores = ${fmt(step.perStreamPct, 2)} % of a core per stream; ` +
          `publishers ${fmt(step.publisherCores, 2)}; other load ${fmt(step.otherCores, 2)} of ${CORES} cores`,
      );
      // The busiest state reached: the last step, or the one where streams fell behind.
      if (onTop && (step.realtime < n || n === steps.at(-1))) await onTop(n);
      if (step.realtime < n) break;
    }
    return out;
  } finally {
    await Promise.all(publishers.map((p) => p.stop(2_000)));
  }
}

async function fetchProgress(url: string): Promise<PlaylistProgress | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) return undefined;
  return parseProgress(await res.text());
}

async function wavecast(file: string): Promise<{ steps: Step[]; profile?: string }> {
  const platform: Platform = await startPlatform(
    {
      LIVE_PASSTHROUGH_ONLY: 'true',
      // Registration speed does not matter here; streaming does not use passwords.
      AUTH_ARGON2_MEMORY_KIB: '8192',
      AUTH_ARGON2_ITERATIONS: '1',
      ...EXTRA_ENV,
    },
    { nodeArgs: PROFILE ? ['--inspect=127.0.0.1:0'] : [] },
  );
  let profile: string | undefined;
  try {
    const max = Math.max(...STEPS);
    log(`Wavecast: registering ${max} streamers`);
    const streamers: Streamer[] = [];
    for (let i = 0; i < max; i++) streamers.push(await registerStreamer(platform, benchUsername('cap', i)));
    const target: Target = {
      name: 'Wavecast',
      roots: [platform.proc.pid],
      hasPdt: true,
      publish: (i) => publishLoop(file, streamers[i]!.rtmpUrl, `publisher-${i}`),
      progress: (i) => fetchProgress(`${platform.url}/live/${streamers[i]!.name}/source/index.m3u8`),
    };
    const steps = await ramp(target, STEPS, async (n) => {
      if (!PROFILE) return;
      const ws = inspectorUrl(platform.proc.stderrTail());
      if (!ws) {
        log('no inspector address; skipping the profile');
        return;
      }
      log(`Wavecast: 10 s CPU profile of the node process at ${n} streams`);
      const cpu = await profileFor(ws, 10);
      const self = hotFunctions(cpu, 15);
      const own = hotOwnFunctions(cpu, 20);
      const charged = selfByOwnCaller(cpu, 15);
      const rows = (list: typeof self.rows) =>
        list.map((r) => [r.name, r.where, fmt(r.selfMs), `${fmt(r.share * 100, 1)} %`]);
      profile = [
        `V8 CPU profile of the Wavecast process, 10 s at ${n} streams (${fmt(self.total)} ms sampled)`,
        '',
        'self time, top 15:',
        table(['function', 'where', 'self ms', 'share'], rows(self.rows)),
        '',
        "inclusive time of Wavecast's own functions, top 20:",
        table(['function', 'where', 'total ms', 'share'], rows(own.rows)),
        '',
        'self time charged to the nearest Wavecast function on the stack (idle and GC left out), top 15:',
        table(['function', 'where', 'ms', 'share'], rows(charged.rows)),
      ].join('\n');
    });
    return { steps, profile };
  } finally {
    await platform.stop();
  }
}

async function nginx(file: string, steps: number[]): Promise<Step[]> {
  const server = await startNginxRtmp(scratchRoot());
  try {
    const progress = async (i: number) => {
      const f = path.join(server.hlsDir, `s${i}.m3u8`);
      return existsSync(f) ? parseProgress(readFileSync(f, 'utf8')) : undefined;
    };
    return await ramp(
      {
        name: 'nginx-rtmp',
        roots: [server.pid],
        hasPdt: false,
        publish: (i) => publishLoop(file, `rtmp://127.0.0.1:${server.rtmpPort}/live/s${i}`, `publisher-${i}`),
        progress,
      },
      steps,
    );
  } finally {
    await server.stop();
  }
}

function print(wc: Step[], ng: Step[], profile: string | undefined): void {
  const rows = (name: string, steps: Step[]) =>
    steps.map((s) => [
      name,
      String(s.streams),
      `${s.realtime}/${s.streams}`,
      fmt(s.minRate, 3),
      name === 'nginx-rtmp' ? 'n/a' : fmt(s.maxLagS, 2),
      fmt(s.serverCores, 2),
      fmt(s.perStreamPct, 2),
      fmt(s.rssMiB),
      fmt(s.publisherCores, 2),
      `${fmt(s.otherCores, 2)}${s.retried ? ' (2nd try)' : ''}`,
    ]);
  console.log(
    `\nconcurrent passthrough streams, 720p30 3 Mb/s H.264 + AAC each; ${WINDOW_SECONDS} s windows; ` +
      `${CORES} cores` +
      (Object.keys(EXTRA_ENV).length > 0 ? `; platform settings ${JSON.stringify(EXTRA_ENV)}` : '') +
      '\n',
  );
  console.log(
    table(
      [
        'server',
        'streams',
        'real time',
        'slowest ×wall',
        'max lag s',
        'server cores',
        '% core/stream',
        'RSS MiB',
        'publisher cores',
        'other load cores',
      ],
      [...rows('Wavecast', wc), ...rows('nginx-rtmp', ng)],
    ),
  );
  const ok = (s: Step) => s.realtime === s.streams;
  const maxWc = Math.max(0, ...wc.filter(ok).map((s) => s.streams));
  const maxNg = Math.max(0, ...ng.filter(ok).map((s) => s.streams));
  console.log(
    `\nWavecast: ${maxWc} streams in real time (target ≥ ${TARGET_STREAMS}: ${maxWc >= TARGET_STREAMS ? 'met' : 'NOT met'}` +
      `${wc.at(-1) && !ok(wc.at(-1)!) ? `; fell behind at ${wc.at(-1)!.streams}` : `; not pushed past ${wc.at(-1)?.streams}`}). ` +
      (ng.length > 0 ? `nginx-rtmp: ${maxNg} in real time over the steps it ran.` : 'nginx-rtmp: not run.'),
  );
  for (const w of wc) {
    const n = ng.find((s) => s.streams === w.streams);
    if (!n) continue;
    console.log(
      `  ${w.streams} streams: CPU per stream Wavecast/nginx-rtmp = ${fmt(w.perStreamPct, 2)} / ${fmt(n.perStreamPct, 2)} % = ${fmt(w.perStreamPct / n.perStreamPct, 1)}×`,
    );
  }
  for (const top of new Set([wc.filter(ok).at(-1), wc.at(-1)])) {
    if (!top) continue;
    console.log(
      `\nWhere Wavecast's CPU went at ${top.streams} streams (${ok(top) ? 'real time' : 'fell behind'}; cores):`,
    );
    const label = (k: string) =>
      k === 'MainThread' || k === 'node'
        ? 'node (the Wavecast process)'
        : k.endsWith(':reaped children')
          ? `exited children of ${k.split(':')[0] === 'MainThread' ? 'node' : k.split(':')[0]} (thumbnail ffmpegs)`
          : k === 'ffmpeg'
            ? 'ffmpeg remuxers (-c copy)'
            : k;
    for (const [k, v] of Object.entries(top.byComm).sort((a, b) => b[1] - a[1])) {
      if (v > 0.005)
        console.log(
          `  ${label(k).padEnd(42)} ${fmt(v, 3)}  (${fmt((100 * v) / top.streams, 2)} % of a core per stream)`,
        );
    }
  }
  const best = wc.filter(ok).at(-1);
  if (best) {
    const node = (best.byComm.MainThread ?? 0) + (best.byComm.node ?? 0);
    const byCpu = (100 * CORES) / best.perStreamPct;
    const byMainThread = node > 0 ? best.streams / node : Number.POSITIVE_INFINITY;
    console.log(
      `\nCeiling from the CPU cost at ${best.streams} streams, on a machine with nothing else to do: ` +
        `${fmt(byCpu)} streams by total CPU (${CORES} cores ÷ ${fmt(best.perStreamPct, 2)} % per stream), ` +
        `${fmt(byMainThread)} by the node process alone (1 core ÷ ${fmt((100 * node) / best.streams, 2)} % per stream; ` +
        'its event loop is one thread). nginx-rtmp, same estimate: ' +
        `${fmt((100 * CORES) / (ng.find((s) => s.streams === best.streams)?.perStreamPct ?? Number.NaN))} streams.`,
    );
  }
  if (profile) console.log(`\n${profile}`);
}

runBench('capacity', 1800, async () => {
  const why = nginxAvailable(true);
  if (why) throw new Error(why);
  const file = (await sourceFile()).path;
  const wc = await wavecast(file);
  // The baseline runs the same steps, up to the one where Wavecast stopped.
  const ng = SKIP_NGINX ? [] : await nginx(file, STEPS.slice(0, wc.steps.length));
  print(wc.steps, ng, wc.profile);
});
