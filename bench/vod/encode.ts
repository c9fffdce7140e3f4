/**
 * Encode wall time through the platform against the same ffmpeg commands run
 * bare, in the same run, alternating, on the same source file.
 * Target: platform overhead <= 5 %.
 *
 * Platform: the all-in-one process in a child (its encoder in-process, the
 * encoder settings from this environment: `ENCODER_PRESET`, `ENCODER_LADDER`,
 * …). A video is created with `POST /v1/videos` and the clip uploaded with
 * tus-js-client; timing starts at `video.uploaded.v1` (seen on the platform's
 * bus by an observer group of its own) and ends at `video.encoded.v1` (the
 * encoder's job) and at READY in `GET /v1/videos/{id}` (what the owner sees).
 * Baseline: ffprobe, then exactly the argv the encoder builds for that probe
 * (services/encoder/src/ffmpeg-args.ts with the ladder planner), then the
 * poster and storyboard runs, each ffmpeg a direct child of this process.
 *
 *   npm exec -- node bench/vod/encode.ts
 *   BENCH_VOD_REPEATS=1 BENCH_VOD_CLIP_SECONDS=10 npm exec -- node bench/vod/encode.ts   # smoke run
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '@wavecast/kit/config';
import { type EncoderConfig, encoderConfigSpec, ffprobePathFor } from '../../services/encoder/src/config.ts';
import { encodeArgs, posterArgs, storyboardArgs } from '../../services/encoder/src/ffmpeg-args.ts';
import { type EncodePlan, planEncode } from '../../services/encoder/src/ladder.ts';
import { readManifests } from '../../services/encoder/src/outputs.ts';
import { parseProbe, probeArgs } from '../../services/encoder/src/probe.ts';
import { POSTER_FILE, planStoryboard, STORYBOARD_FILE } from '../../services/encoder/src/thumbnails.ts';
import { log, type Machine, machine, noiseWarnings, num, table, writeResult } from '../lib/report.ts';
import { runMain } from '../lib/run-main.ts';
import {
  createVideo,
  deleteVideo,
  register,
  relogin,
  type Session,
  tusUpload,
  waitForStatus,
} from './lib/api.ts';
import { ensureClip, removeDir, runDir, runTool } from './lib/media.ts';
import { observations, startProfile, startVodPlatform, type VodPlatform } from './lib/platform.ts';
import { cpuWindow } from './lib/proc-cpu.ts';
import { formatProfileSummary, summarizeProfile } from './lib/profile-summary.ts';
import type { Observation } from './lib/protocol.ts';
import { waitForQuiet } from './lib/quiet.ts';
import { MiB, maxSeconds, median, numberEnv, percent } from './lib/stats.ts';

export const TARGET_OVERHEAD = 0.05;
const CHUNK_SIZE = 8 * MiB;

export interface BaselineRun {
  probeMs: number;
  encodeMs: number;
  /** The poster (one run, or two when the seek found no frame) and the storyboard. */
  posterMs: number;
  storyboardMs: number;
  /** All four, back to back: what the encoder's job does in ffmpeg/ffprobe. */
  totalMs: number;
  /** CPU seconds of the ffprobe/ffmpeg processes. */
  toolCpuSeconds: number;
  otherCores: number;
}

export interface PlatformRun {
  videoId: string;
  /** tus: creation to the final PATCH's answer (the upload's own ffprobe included). */
  uploadMs: number;
  /** `video.uploaded.v1` → `video.encoded.v1`: the encoder's job, seen on the bus. */
  jobMs: number;
  /** `video.uploaded.v1` → READY in `GET /v1/videos/{id}` (polled every 20 ms once encoded). */
  toReadyMs: number;
  /** Job phases, from the encoder's progress stamps: before ffmpeg (copy of the source, ffprobe), ffmpeg runs (encode, poster, storyboard), after (storing outputs, marker). */
  beforeFfmpegMs: number;
  ffmpegMs: number;
  afterFfmpegMs: number;
  /** CPU seconds during the job: ffmpeg/ffprobe (the child's exited children), and the platform's own process. */
  toolCpuSeconds: number;
  platformCpuSeconds: number;
  otherCores: number;
  /** `BENCH_VOD_PROFILE=1`: the platform child's CPU profile from the creation of the video to READY. */
  profile?: string;
}

export interface EncodeResult {
  name: 'vod-encode';
  machine: Machine;
  clip: { path: string; bytes: number; seconds: number; width: number; height: number; fps: number };
  encoder: { preset: string; segmentSeconds: number; ladder: string; renditions: string[] };
  /** Which clock the platform figures come from. */
  measuredBy: string;
  baseline: BaselineRun[];
  platform: PlatformRun[];
  medians: {
    baselineMs: number;
    baselineFfmpegMs: number;
    jobMs: number;
    toReadyMs: number;
    ffmpegPhaseMs: number;
    /** The platform job's time outside its ffmpeg runs (before + after), and the bare ffprobe's. */
    outsideFfmpegMs: number;
    baselineProbeMs: number;
    /** The fastest bare run: the least disturbed one. */
    fastestBaselineMs: number;
    baselineToolCpuSeconds: number;
    platformToolCpuSeconds: number;
    platformCpuSeconds: number;
  };
  /** Median platform time ÷ median bare time, minus one. */
  jobOverhead: number;
  toReadyOverhead: number;
  /** (platform ffmpeg + platform process CPU during the job) ÷ bare ffmpeg CPU: steadier on a busy machine. */
  cpuRatio: number;
  ffmpegPhaseOverhead: number;
  /**
   * What the platform adds outside ffmpeg (median before + after, less the
   * bare ffprobe), as a share of the fastest bare run: the overhead that does
   * not depend on how much other load slowed the ffmpeg runs down.
   */
  outsideFfmpegOverhead: number;
  target: number;
  meetsTarget: boolean;
}

/** The ffmpeg/ffprobe runs of one encoder job, bare, on `clip`; outputs in a temporary directory. */
async function baselineRun(
  clip: string,
  config: EncoderConfig,
): Promise<{ run: BaselineRun; plan: EncodePlan }> {
  const dir = runDir('vod-encode-baseline');
  try {
    const window = cpuWindow();
    const probe = await runTool(ffprobePathFor(config), probeArgs(clip), true);
    const source = parseProbe(probe.stdout);
    const plan = planEncode(source, config.ladder);
    const out = join(dir, 'out');
    await mkdir(out);
    const encode = await runTool(
      config.ffmpegPath,
      encodeArgs(plan, clip, out, { segmentSeconds: config.segmentSeconds, preset: config.preset }),
    );
    // As the encoder: the duration from the manifest, the poster at 10 % (else the first frame), the storyboard.
    const duration = (await readManifests(out)).duration ?? source.durationSeconds ?? 0;
    const top = plan.video[0];
    let posterMs = 0;
    let storyboardMs = 0;
    if (top && plan.videoIndex !== null) {
      for (const at of [duration * 0.1, 0]) {
        posterMs += (
          await runTool(config.ffmpegPath, posterArgs(clip, plan.videoIndex, at, top, join(out, POSTER_FILE)))
        ).wallMs;
        if (existsSync(join(out, POSTER_FILE))) break;
      }
      const layout = planStoryboard(duration, top);
      storyboardMs = (
        await runTool(
          config.ffmpegPath,
          storyboardArgs(clip, plan.videoIndex, layout, join(out, STORYBOARD_FILE)),
        )
      ).wallMs;
    }
    const cpu = window.end();
    return {
      plan,
      run: {
        probeMs: probe.wallMs,
        encodeMs: encode.wallMs,
        posterMs,
        storyboardMs,
        totalMs: probe.wallMs + encode.wallMs + posterMs + storyboardMs,
        toolCpuSeconds: cpu.ownCpuSeconds,
        otherCores: cpu.otherCores,
      },
    };
  } finally {
    removeDir(dir);
  }
}

function find(list: Observation[], type: string, percent?: number): Observation {
  const found = list.find((o) => o.type === type && (percent === undefined || o.percent === percent));
  if (!found) throw new Error(`no ${type}${percent === undefined ? '' : ` ${percent}%`} observed`);
  return found;
}

/** One video through the platform: create, upload with tus, wait for encoded and READY. */
async function platformRun(
  platform: VodPlatform,
  session: Session,
  clip: string,
  clipSeconds: number,
): Promise<PlatformRun> {
  const profiler = process.env.BENCH_VOD_PROFILE ? await startProfile(platform) : undefined;
  const window = cpuWindow([platform.pid]);
  const videoId = await createVideo(platform.url, session, { title: 'Encode benchmark', tags: ['bench'] });
  const upload = await tusUpload(platform.url, session, videoId, clip, CHUNK_SIZE);
  const timeoutMs = Math.max(10 * 60_000, clipSeconds * 20_000);
  const seen = await observations(platform, videoId, ['video.encoded.v1', 'video.failed.v1'], timeoutMs);
  const failed = seen.find((o) => o.type === 'video.failed.v1');
  if (failed) throw new Error(`the platform failed the video: ${failed.reason}`);
  const readyMs = await waitForStatus(platform.url, session, videoId, 'ready', {
    everyMs: 20,
    timeoutMs: 30_000,
  });
  const cpu = window.end();
  const profile = await profiler?.stop('vod-encode-platform');
  if (profile) log(`profile: ${profile}\n${formatProfileSummary(summarizeProfile(profile))}`);

  const uploaded = find(seen, 'video.uploaded.v1');
  const encoded = find(seen, 'video.encoded.v1');
  // The encoder stamps progress 0 just before ffmpeg starts and 95 once the poster and storyboard are made.
  const started = find(seen, 'video.progress.v1', 0).eventAtMs ?? Number.NaN;
  const thumbnailed = find(seen, 'video.progress.v1', 95).eventAtMs ?? Number.NaN;
  return {
    videoId,
    uploadMs: upload.doneMs - upload.startedMs,
    jobMs: encoded.atMs - uploaded.atMs,
    toReadyMs: readyMs - uploaded.atMs,
    beforeFfmpegMs: started - uploaded.atMs,
    ffmpegMs: thumbnailed - started,
    afterFfmpegMs: encoded.atMs - thumbnailed,
    toolCpuSeconds: encoded.childrenCpuSeconds - uploaded.childrenCpuSeconds,
    platformCpuSeconds: encoded.cpuSeconds - uploaded.cpuSeconds,
    otherCores: cpu.otherCores,
    ...(profile && { profile }),
  };
}

export function printEncode(r: EncodeResult): void {
  const s = (ms: number) => num(ms / 1000, 2);
  console.log(
    `\nvod-encode: ${r.clip.seconds} s ${r.clip.width}x${r.clip.height}p${r.clip.fps} clip ` +
      `(${num(r.clip.bytes / MiB, 1)} MiB), renditions ${r.encoder.renditions.join('/')}, ` +
      `preset ${r.encoder.preset}, ${r.baseline.length} runs each, alternating, ${r.machine.cores} cores\n`,
  );
  console.log(
    table(
      [
        'bare ffmpeg (baseline)',
        'ffprobe s',
        'encode s',
        'poster s',
        'storyboard s',
        'total s',
        'CPU s',
        'other cores',
      ],
      r.baseline.map((b, i) => [
        `run ${i + 1}`,
        s(b.probeMs),
        s(b.encodeMs),
        s(b.posterMs),
        s(b.storyboardMs),
        s(b.totalMs),
        num(b.toolCpuSeconds, 1),
        num(b.otherCores, 2),
      ]),
    ),
  );
  console.log('');
  console.log(
    table(
      [
        'through the platform',
        'tus upload s',
        'before ffmpeg s',
        'ffmpeg s',
        'after ffmpeg s',
        'job s',
        '→ READY s',
        'ffmpeg CPU s',
        'node CPU s',
        'other cores',
      ],
      r.platform.map((p, i) => [
        `run ${i + 1}`,
        s(p.uploadMs),
        s(p.beforeFfmpegMs),
        s(p.ffmpegMs),
        s(p.afterFfmpegMs),
        s(p.jobMs),
        s(p.toReadyMs),
        num(p.toolCpuSeconds, 1),
        num(p.platformCpuSeconds, 2),
        num(p.otherCores, 2),
      ]),
    ),
  );
  const m = r.medians;
  console.log('');
  console.log(
    table(
      ['median', 'bare s', 'platform s', 'overhead'],
      [
        [
          'uploaded → READY vs bare ffprobe+ffmpeg',
          s(m.baselineMs),
          s(m.toReadyMs),
          percent(1 + r.toReadyOverhead),
        ],
        ['uploaded → encoded (encoder job)', s(m.baselineMs), s(m.jobMs), percent(1 + r.jobOverhead)],
        [
          'ffmpeg runs only (encode+poster+storyboard)',
          s(m.baselineFfmpegMs),
          s(m.ffmpegPhaseMs),
          percent(1 + r.ffmpegPhaseOverhead),
        ],
      ],
    ),
  );
  console.log(
    `\noutside ffmpeg: the platform's job spends ${s(m.outsideFfmpegMs)} s before and after its ffmpeg runs ` +
      `(copy of the source, ffprobe, storing the outputs), the bare ffprobe ${s(m.baselineProbeMs)} s: ` +
      `${percent(1 + r.outsideFfmpegOverhead)} of the fastest bare run (${s(m.fastestBaselineMs)} s)`,
  );
  console.log(
    `CPU: bare ffprobe+ffmpeg ${num(m.baselineToolCpuSeconds, 1)} s; platform ffprobe+ffmpeg ` +
      `${num(m.platformToolCpuSeconds, 1)} s + its own process ${num(m.platformCpuSeconds, 2)} s during the job ` +
      `(${percent(r.cpuRatio)} CPU)`,
  );
  console.log(
    `overhead uploaded → READY: ${percent(1 + r.toReadyOverhead)} ` +
      `(target <= ${r.target * 100} %: ${r.meetsTarget ? 'met' : 'NOT MET'})`,
  );
  for (const w of noiseWarnings([
    ...r.baseline.map((b, i): [string, number] => [`bare run ${i + 1}`, b.otherCores]),
    ...r.platform.map((p, i): [string, number] => [`platform run ${i + 1}`, p.otherCores]),
  ]))
    console.log(w);
}

export async function benchEncode(): Promise<EncodeResult> {
  const repeats = numberEnv('BENCH_VOD_REPEATS', 3);
  const clipSpec = { width: 1280, height: 720, fps: 30, seconds: numberEnv('BENCH_VOD_CLIP_SECONDS', 60) };
  // The same settings the platform child reads from this environment.
  const config = loadConfig(encoderConfigSpec, process.env);
  const clip = await ensureClip(config.ffmpegPath, clipSpec);
  const { size } = statSync(clip);

  log('vod-encode: starting the platform (all-in-one, encoder in-process)');
  const platform = await startVodPlatform({ ENCODER_IN_PROCESS: 'true' });
  const baseline: BaselineRun[] = [];
  const runs: PlatformRun[] = [];
  let plan: EncodePlan | undefined;
  try {
    let session = await register(platform.url, 'bench_encoder');
    for (let i = 0; i < repeats; i++) {
      const order = i % 2 === 0 ? (['bare', 'platform'] as const) : (['platform', 'bare'] as const);
      for (const which of order) {
        await waitForQuiet(`vod-encode ${which} ${i + 1}`, [platform.pid]);
        if (which === 'bare') {
          log(`vod-encode: run ${i + 1}/${repeats}, bare ffprobe + ffmpeg`);
          const b = await baselineRun(clip, config);
          plan = b.plan;
          baseline.push(b.run);
          log(`  ${num(b.run.totalMs / 1000, 2)} s`);
        } else {
          log(`vod-encode: run ${i + 1}/${repeats}, through the platform`);
          session = await relogin(platform.url, session);
          const p = await platformRun(platform, session, clip, clipSpec.seconds);
          runs.push(p);
          log(`  job ${num(p.jobMs / 1000, 2)} s, → READY ${num(p.toReadyMs / 1000, 2)} s`);
          await deleteVideo(platform.url, session, p.videoId);
        }
      }
    }
  } finally {
    await platform.stop();
  }

  const medians = {
    baselineMs: median(baseline.map((b) => b.totalMs)),
    baselineFfmpegMs: median(baseline.map((b) => b.encodeMs + b.posterMs + b.storyboardMs)),
    jobMs: median(runs.map((p) => p.jobMs)),
    toReadyMs: median(runs.map((p) => p.toReadyMs)),
    ffmpegPhaseMs: median(runs.map((p) => p.ffmpegMs)),
    outsideFfmpegMs: median(runs.map((p) => p.beforeFfmpegMs + p.afterFfmpegMs)),
    baselineProbeMs: median(baseline.map((b) => b.probeMs)),
    fastestBaselineMs: Math.min(...baseline.map((b) => b.totalMs)),
    baselineToolCpuSeconds: median(baseline.map((b) => b.toolCpuSeconds)),
    platformToolCpuSeconds: median(runs.map((p) => p.toolCpuSeconds)),
    platformCpuSeconds: median(runs.map((p) => p.platformCpuSeconds)),
  };
  const toReadyOverhead = medians.toReadyMs / medians.baselineMs - 1;
  const result: EncodeResult = {
    name: 'vod-encode',
    machine: machine(),
    clip: { path: clip, bytes: size, ...clipSpec },
    encoder: {
      preset: config.preset,
      segmentSeconds: config.segmentSeconds,
      ladder: config.ladder.map((r) => `${r.height}:${r.videoKbps}`).join(','),
      renditions: [...(plan?.video.map((v) => v.name) ?? []), ...(plan?.audio.map((a) => a.name) ?? [])],
    },
    measuredBy:
      'platform: video.uploaded.v1 and video.encoded.v1 as seen by an observer group on the platform bus ' +
      "(the encoder job), READY polled on GET /v1/videos/{id}; phases from the encoder's video.progress.v1 " +
      'stamps (0 % before ffmpeg, 95 % after the thumbnails); baseline: wall time of each bare process',
    baseline,
    platform: runs,
    medians,
    jobOverhead: medians.jobMs / medians.baselineMs - 1,
    toReadyOverhead,
    cpuRatio: (medians.platformToolCpuSeconds + medians.platformCpuSeconds) / medians.baselineToolCpuSeconds,
    ffmpegPhaseOverhead: medians.ffmpegPhaseMs / medians.baselineFfmpegMs - 1,
    outsideFfmpegOverhead: (medians.outsideFfmpegMs - medians.baselineProbeMs) / medians.fastestBaselineMs,
    target: TARGET_OVERHEAD,
    meetsTarget: toReadyOverhead <= TARGET_OVERHEAD,
  };
  printEncode(result);
  log(`wrote ${writeResult(result.name, result)}`);
  return result;
}

if (import.meta.main) await runMain(() => benchEncode(), { maxSeconds: maxSeconds(3600) });
