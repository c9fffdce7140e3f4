/**
 * Glass-to-glass latency of a live stream: from the moment a frame is made
 * at the publisher to the moment hls.js shows it in Chromium, on the same
 * machine clock.
 *
 * A small Node process draws `Date.now()` into every frame as a barcode
 * (milliseconds + CRC, support/barcode.ts) and ffmpeg encodes it live
 * (720p30, x264 ultrafast/zerolatency, 1 s GOP, 2.5 Mb/s, AAC) and publishes
 * it over RTMP to Wavecast; the page reads the barcode of every displayed
 * frame (requestVideoFrameCallback + canvas) and subtracts it from its own
 * clock. After a warm-up, samples are collected for a fixed time.
 *
 * Measured: Wavecast passthrough (LIVE_PASSTHROUGH_ONLY=true) and Wavecast
 * with its default ladder (source + 480p + 360p transcoded), played by
 * hls.js in low-latency mode; baseline: the same publisher into ffmpeg's own
 * HLS muxer (1 s MPEG-TS segments, 6 in the playlist) served as static files,
 * played by the same page with hls.js in its default (non-low-latency) mode.
 * Target: Wavecast p50 ≤ 2.0 s, p95 ≤ 3.0 s.
 *
 *   npm exec -- node bench/live/latency.ts
 *   LATENCY_MODES=passthrough LATENCY_SECONDS=20 npm exec -- node bench/live/latency.ts
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { busyCores, machineSample } from '../lib/machine-load.ts';
import { freePort } from './support/nginx.ts';
import { probeOrigin, startFrameDecoder } from './support/origin-probe.ts';
import {
  benchUsername,
  registerStreamer,
  scratchRoot,
  startPlatform,
  waitForSegments,
} from './support/platform.ts';
import { type FrameSample, LatencyPlayer, type PageState } from './support/player.ts';
import {
  awaitQuietMachine,
  fmt,
  log,
  onCleanup,
  type Proc,
  percentile,
  runBench,
  sleep,
  start,
  table,
  until,
} from './support/procs.ts';

const TARGET_P50_S = 2.0;
const TARGET_P95_S = 3.0;
const WARMUP_SECONDS = Number(process.env.LATENCY_WARMUP_SECONDS ?? 5);
const MEASURE_SECONDS = Number(process.env.LATENCY_SECONDS ?? 25);
const MODES = (process.env.LATENCY_MODES ?? 'publisher,passthrough,ladder,baseline,catchup')
  .split(',')
  .map((s) => s.trim());
/**
 * 960x540 by default: big enough for the default ladder to transcode two rungs (480p, 360p), small
 * enough that the encoder, the transcoder and Chromium's software decoder fit on 2 cores with room
 * to spare (a CPU-starved player starts late, and without catch-up stays late). LATENCY_SIZE=1280x720.
 */
const [WIDTH, HEIGHT] = (process.env.LATENCY_SIZE ?? '960x540').split('x').map(Number) as [number, number];
const SOURCE = { width: WIDTH, height: HEIGHT, fps: 30, videoKbps: WIDTH >= 1280 ? 2500 : 1800 };
const QUIET_WAIT_SECONDS = Number(process.env.LATENCY_QUIET_WAIT_SECONDS ?? 60);
const PROBE_SECONDS = Number(process.env.LATENCY_PROBE_SECONDS ?? 8);
const SOURCE_SCRIPT = fileURLToPath(new URL('./support/barcode-source.ts', import.meta.url));

interface Outcome {
  name: string;
  /** Publisher → available at the origin, per rendition (support/origin-probe.ts), seconds. */
  origin: { rendition: string; p50: number; p95: number; frames: number }[];
  player: string;
  samples: number;
  p50: number;
  p95: number;
  max: number;
  min: number;
  mean: number;
  unreadableFrames: number;
  frames: number;
  stalls: number;
  heights: string;
  /** p50 of (page clock - PDT of the playing position): packager → screen. NaN without PDT. */
  behindPdtP50: number;
  /** p50 of (PDT - publisher clock): publisher → packager, less one part. NaN without PDT. */
  beforePdtP50: number;
  hlsLatency: number | null;
  targetLatency: number | null;
  errors: string[];
  /** The first displayed frame: after how long, and hls.js's latency then. */
  first: string;
  publisherLateFrames: string;
  machineCores: number;
}

function startSource(output: string[], seconds: number): Proc & { stats: Promise<string> } {
  const proc = start(
    'barcode-source',
    process.execPath,
    ['--disable-warning=ExperimentalWarning', SOURCE_SCRIPT, JSON.stringify({ ...SOURCE, seconds, output })],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const stats = proc.exited.then(() => out.trim());
  return Object.assign(proc, { stats });
}

/** Plays `url`, waits for readable frames, warms up, then collects MEASURE_SECONDS of samples. */
async function measure(
  player: LatencyPlayer,
  name: string,
  playerLabel: string,
  url: string,
  hlsConfig: Record<string, unknown>,
  source: Proc & { stats: Promise<string> },
): Promise<Outcome> {
  const page: Page = await player.play(url, hlsConfig);
  try {
    await until(
      `${name}: first readable frame`,
      async () => {
        const c = await LatencyPlayer.counters(page);
        return c.frames > c.unreadable ? true : undefined;
      },
      45_000,
      500,
    );
    log(`${name}: playing; ${WARMUP_SECONDS} s warm-up, then ${MEASURE_SECONDS} s measured`);
    await sleep(WARMUP_SECONDS * 1000);
    await LatencyPlayer.take(page);
    const counters0 = await LatencyPlayer.counters(page);
    const m0 = machineSample();
    const samples: FrameSample[] = [];
    const states: PageState[] = [];
    const end = Date.now() + MEASURE_SECONDS * 1000;
    while (Date.now() < end) {
      await sleep(Math.min(5_000, end - Date.now()));
      samples.push(...(await LatencyPlayer.take(page)));
      states.push(await LatencyPlayer.state(page));
      if (source.child.exitCode !== null)
        throw new Error(`${name}: the publisher stopped: ${source.stderrTail()}`);
    }
    const cores = busyCores(m0, machineSample());
    const after = await LatencyPlayer.counters(page);
    if (samples.length < MEASURE_SECONDS * 5) {
      throw new Error(`${name}: only ${samples.length} readable frames in ${MEASURE_SECONDS} s`);
    }
    const ms = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
    const heights = new Map<number, number>();
    for (const s of samples) heights.set(s.height, (heights.get(s.height) ?? 0) + 1);
    const last = states.at(-1);
    const withPdt = samples.filter((x) => Number.isFinite(x.behindPdtMs));
    const behind = withPdt.map((x) => x.behindPdtMs).sort((a, b) => a - b);
    const before = withPdt.map((x) => x.latencyMs - x.behindPdtMs).sort((a, b) => a - b);
    return {
      origin: [],
      behindPdtP50: percentile(behind, 50) / 1000,
      beforePdtP50: percentile(before, 50) / 1000,
      name,
      player: playerLabel,
      samples: samples.length,
      p50: percentile(ms, 50) / 1000,
      p95: percentile(ms, 95) / 1000,
      max: ms.at(-1)! / 1000,
      min: ms[0]! / 1000,
      mean: ms.reduce((a, b) => a + b, 0) / ms.length / 1000,
      unreadableFrames: after.unreadable - counters0.unreadable,
      frames: after.frames - counters0.frames,
      stalls: after.waiting - counters0.waiting,
      heights: [...heights]
        .sort((a, b) => b[1] - a[1])
        .map(([h, n]) => `${h}p ${Math.round((100 * n) / samples.length)}%`)
        .join(', '),
      hlsLatency: last?.hlsLatency ?? null,
      targetLatency: last?.targetLatency ?? null,
      errors: after.errors,
      first: after.first
        ? `first frame ${fmt(after.first.afterMs)} ms after play(); hls.js latency then ` +
          `${fmt(after.first.hlsLatency, 2)} s (target ${fmt(after.first.targetLatency, 2)}), ` +
          `currentTime ${fmt(after.first.currentTime, 2)}, buffered from ${fmt(after.first.bufferedStart ?? Number.NaN, 2)}`
        : '',
      publisherLateFrames: '',
      machineCores: cores,
    };
  } finally {
    await page.close().catch(() => undefined);
  }
}

/**
 * The publisher alone: the same source publishing over RTMP straight into an ffmpeg that listens
 * and decodes (no server in between). What the encoder, RTMP and decoding cost by themselves.
 */
async function publisherAlone(): Promise<{ p50: number; p95: number; frames: number }> {
  log(`publisher alone: ${PROBE_SECONDS} s into a listening ffmpeg decoder`);
  const url = `rtmp://127.0.0.1:${await freePort()}/live/x`;
  const decoder = startFrameDecoder(['-listen', '1', '-f', 'flv', '-i', url], 2_000);
  let source: (Proc & { stats: Promise<string> }) | undefined;
  try {
    await sleep(1_000);
    source = startSource(['-f', 'flv', url], PROBE_SECONDS + 30);
    await sleep((PROBE_SECONDS + 2) * 1000);
    const ms = [...decoder.latencies].sort((a, b) => a - b);
    if (ms.length === 0) throw new Error(`publisher alone: no frame decoded: ${decoder.proc.stderrTail()}`);
    return { p50: percentile(ms, 50) / 1000, p95: percentile(ms, 95) / 1000, frames: ms.length };
  } finally {
    await source?.stop(2_000);
    await decoder.proc.stop(2_000);
  }
}

type Mode = 'passthrough' | 'ladder' | 'catchup';

const MODE_NAMES: Record<Mode, string> = {
  passthrough: 'Wavecast passthrough',
  ladder: 'Wavecast default ladder',
  catchup: 'Wavecast passthrough, hls.js catch-up',
};

async function wavecast(player: LatencyPlayer, mode: Mode): Promise<Outcome> {
  const name = MODE_NAMES[mode];
  await awaitQuietMachine(name, QUIET_WAIT_SECONDS);
  log(`${name}: starting the platform`);
  const platform = await startPlatform({
    LIVE_PASSTHROUGH_ONLY: mode === 'ladder' ? 'false' : 'true',
  });
  let source: (Proc & { stats: Promise<string> }) | undefined;
  try {
    const streamer = await registerStreamer(platform, benchUsername('lat'));
    source = startSource(['-f', 'flv', streamer.rtmpUrl], WARMUP_SECONDS + MEASURE_SECONDS + 90);
    await waitForSegments(platform, streamer.name, 2, 30_000);
    const origin: Outcome['origin'] = [];
    const master = await (await fetch(`${platform.url}/live/${streamer.name}/master.m3u8`)).text();
    for (const uri of master.split('\n').filter((l) => l.endsWith('index.m3u8'))) {
      const rendition = uri.split('/')[0]!;
      log(`${name}: ${PROBE_SECONDS} s origin probe of ${rendition}`);
      const steady = (await probeOrigin(`${platform.url}/live/${streamer.name}/${uri}`, PROBE_SECONDS)).sort(
        (a, b) => a - b,
      );
      origin.push({
        rendition,
        p50: percentile(steady, 50) / 1000,
        p95: percentile(steady, 95) / 1000,
        frames: steady.length,
      });
    }
    const outcome = await measure(
      player,
      name,
      mode === 'catchup' ? 'hls.js lowLatencyMode, maxLiveSyncPlaybackRate 1.5' : 'hls.js lowLatencyMode',
      `${platform.url}/live/${streamer.name}/master.m3u8`,
      // catchup: hls.js may play up to 1.5× to get back to its target latency (the default, 1, never does).
      mode === 'catchup'
        ? { lowLatencyMode: true, backBufferLength: 30, maxLiveSyncPlaybackRate: 1.5 }
        : { lowLatencyMode: true, backBufferLength: 30 },
      source,
    );
    await source.stop(3_000);
    outcome.publisherLateFrames = await source.stats;
    outcome.origin = origin;
    return outcome;
  } finally {
    await source?.stop(2_000);
    await platform.stop();
  }
}

async function baseline(player: LatencyPlayer): Promise<Outcome> {
  const name = 'baseline: ffmpeg HLS muxer';
  await awaitQuietMachine(name, QUIET_WAIT_SECONDS);
  const dir = mkdtempSync(path.join(scratchRoot(), 'wavecast-latency-baseline-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const unregister = onCleanup(removeDir);
  player.serveStatic(dir);
  const source = startSource(
    [
      '-f',
      'hls',
      '-hls_time',
      '1',
      '-hls_list_size',
      '6',
      '-hls_flags',
      'delete_segments+independent_segments',
      '-hls_segment_type',
      'mpegts',
      '-hls_segment_filename',
      path.join(dir, 'seg-%d.ts'),
      path.join(dir, 'index.m3u8'),
    ],
    WARMUP_SECONDS + MEASURE_SECONDS + 90,
  );
  try {
    log(`${name}: waiting for 3 segments`);
    const playlist = path.join(dir, 'index.m3u8');
    await until(
      'the baseline playlist',
      async () =>
        existsSync(playlist) && (readFileSync(playlist, 'utf8').match(/^#EXTINF/gm)?.length ?? 0) >= 3
          ? true
          : undefined,
      30_000,
    );
    const outcome = await measure(
      player,
      name,
      'hls.js default (not low-latency)',
      `${player.base}/static/index.m3u8`,
      { lowLatencyMode: false, backBufferLength: 30 },
      source,
    );
    await source.stop(3_000);
    outcome.publisherLateFrames = await source.stats;
    return outcome;
  } finally {
    await source.stop(2_000);
    player.serveStatic(undefined);
    removeDir();
    unregister();
  }
}

function print(outcomes: Outcome[], alone: { p50: number; p95: number; frames: number } | undefined): void {
  const s = (n: number | null) => (n === null ? 'n/a' : fmt(n, 2));
  console.log(
    `\nglass-to-glass latency, ${SOURCE.width}x${SOURCE.height}@${SOURCE.fps} ` +
      `${SOURCE.videoKbps} kb/s; ${WARMUP_SECONDS} s warm-up, ${MEASURE_SECONDS} s measured (seconds)\n`,
  );
  console.log(
    table(
      [
        '',
        'p50',
        'p95',
        'max',
        'min',
        'frames',
        'unreadable',
        'stalls',
        'played',
        'pub→PDT p50',
        'PDT→screen p50',
        'hls.js latency/target',
        'busy cores',
      ],
      outcomes.map((o) => [
        o.name,
        s(o.p50),
        s(o.p95),
        s(o.max),
        s(o.min),
        String(o.samples),
        String(o.unreadableFrames),
        String(o.stalls),
        o.heights,
        s(o.beforePdtP50),
        s(o.behindPdtP50),
        `${s(o.hlsLatency)} / ${s(o.targetLatency)}`,
        fmt(o.machineCores, 2),
      ]),
    ),
  );
  const base = outcomes.find((o) => o.name.startsWith('baseline'));
  for (const o of outcomes) {
    if (o === base) continue;
    console.log(`${o.name}: played by ${o.player}`);
    const meets = o.p50 <= TARGET_P50_S && o.p95 <= TARGET_P95_S;
    const vs = base
      ? `; ratio to baseline p50 ${fmt(o.p50 / base.p50, 2)}, p95 ${fmt(o.p95 / base.p95, 2)}`
      : '';
    console.log(
      `${o.name}: p50 ${s(o.p50)} s, p95 ${s(o.p95)} s (target ≤ ${TARGET_P50_S} / ≤ ${TARGET_P95_S}: ${meets ? 'met' : 'NOT met'})${vs}`,
    );
  }
  console.log('\npublisher → available at the origin (LL-HLS client following parts, no player buffer):');
  if (alone) {
    console.log(
      `  publisher alone (x264 + RTMP straight into a decoder, no server): p50 ${s(alone.p50)} s, ` +
        `p95 ${s(alone.p95)} s (${alone.frames} frames)`,
    );
  }
  for (const o of outcomes) {
    for (const r of o.origin) {
      console.log(
        `  ${o.name}, ${r.rendition}: p50 ${s(r.p50)} s, p95 ${s(r.p95)} s (${r.frames} frames); ` +
          `the player adds ${s(o.p50 - r.p50)} s at p50`,
      );
    }
  }
  for (const o of outcomes) {
    if (o.errors.length > 0) console.log(`${o.name}: hls.js errors: ${o.errors.join(', ')}`);
    console.log(`${o.name}: ${o.first}`);
    console.log(`${o.name}: publisher pacing ${o.publisherLateFrames || 'n/a'}`);
  }
}

runBench('latency', 900, async () => {
  const player = new LatencyPlayer();
  await player.start();
  const outcomes: Outcome[] = [];
  let alone: { p50: number; p95: number; frames: number } | undefined;
  for (const mode of MODES) {
    if (mode === 'publisher') {
      alone = await publisherAlone();
      continue;
    }
    if (mode === 'passthrough' || mode === 'ladder' || mode === 'catchup') {
      outcomes.push(await wavecast(player, mode));
    } else if (mode === 'baseline') outcomes.push(await baseline(player));
    else throw new Error(`unknown mode ${mode}`);
  }
  await player.stop();
  print(outcomes, alone);
});
