/**
 * Upload throughput: a few hundred MiB through tus (tus-js-client, 8 MiB
 * chunks) to the platform's gateway, against the same bytes written to a
 * file of the same file system, measured in the same run, alternating.
 *
 * - tus: the all-in-one platform in a child (local storage, encoder off so
 *   that no encode runs behind the next measurement). Timed from the creation
 *   POST to the final PATCH's answer; that answer waits for the upload's
 *   ffprobe checks, an fsync and the `video.uploaded.v1` publish, which are
 *   reported apart: the bare ffprobe calls on the same file, the PATCHes but
 *   the last (steady transfer), and the last PATCH.
 * - disk: `fs.createReadStream` of the file piped into `fs.createWriteStream`
 *   of a temporary file (then an fsync, timed apart), in this process.
 * - http: a bare `http.createServer` in a child that pipes each PUT body into
 *   a file, sent the same 8 MiB chunks one after another.
 *
 *   npm exec -- node bench/vod/upload.ts
 *   BENCH_VOD_UPLOAD_MIB=64 BENCH_VOD_REPEATS=1 npm exec -- node bench/vod/upload.ts   # smoke run
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { loadConfig } from '@wavecast/kit/config';
import { encoderConfigSpec } from '../../services/encoder/src/config.ts';
import { uploadsConfigSpec } from '../../services/uploads/src/config.ts';
import { ffprober } from '../../services/uploads/src/ffprobe.ts';
import { type Child, startChild } from '../lib/children.ts';
import { log, type Machine, machine, noiseWarnings, num, table, writeResult } from '../lib/report.ts';
import { runMain } from '../lib/run-main.ts';
import { createVideo, deleteVideo, register, relogin, type Session, tusUpload } from './lib/api.ts';
import { ensureClip, loopedFile, runDir } from './lib/media.ts';
import { observations, startProfile, startVodPlatform, type VodPlatform } from './lib/platform.ts';
import { cpuWindow, procCpu } from './lib/proc-cpu.ts';
import { formatProfileSummary, summarizeProfile } from './lib/profile-summary.ts';
import { waitForQuiet } from './lib/quiet.ts';
import { MiB, maxSeconds, median, numberEnv } from './lib/stats.ts';

export interface DiskRun {
  writeMs: number;
  fsyncMs: number;
  cpuSeconds: number;
  otherCores: number;
}

export interface HttpRun {
  totalMs: number;
  serverCpuSeconds: number;
  otherCores: number;
}

export interface TusRun {
  /** Creation POST → final PATCH answered: the figure. */
  totalMs: number;
  createMs: number;
  /** Bytes and time of the PATCHes but the last: the steady transfer. */
  steadyBytes: number;
  steadyMs: number;
  /** The last PATCH, and from its last byte sent to its answer (the finish: ffprobe, fsync, promote, publish). */
  lastPatchMs: number;
  lastByteToAnswerMs: number;
  /** `video.uploaded.v1` seen on the bus → the final PATCH answered at the client. */
  publishedToAnswerMs: number;
  /** The uploads service's own ffprobe checks, run bare on the same file afterwards. */
  bareProbeMs: number;
  serverCpuSeconds: number;
  /** ffprobe runs of the platform (its exited children). */
  serverToolCpuSeconds: number;
  otherCores: number;
  /** `BENCH_VOD_PROFILE=1`: the platform child's CPU profile of the upload. */
  profile?: string;
}

export interface UploadResult {
  name: 'vod-upload';
  machine: Machine;
  file: { bytes: number; chunkBytes: number };
  disk: DiskRun[];
  http: HttpRun[];
  tus: TusRun[];
  medians: {
    diskMiBps: number;
    diskWithFsyncMiBps: number;
    httpMiBps: number;
    tusMiBps: number;
    tusSteadyMiBps: number;
    tusLastPatchMs: number;
    bareProbeMs: number;
    fsyncMs: number;
    tusServerCpuMsPerMiB: number;
    httpServerCpuMsPerMiB: number;
  };
  /** tus MiB/s ÷ disk MiB/s (write without fsync), and ÷ bare HTTP MiB/s. */
  ratioToDisk: number;
  ratioToDiskWithFsync: number;
  ratioToHttp: number;
}

async function diskRun(source: string, dir: string): Promise<DiskRun> {
  const target = join(dir, 'disk-copy.bin');
  const window = cpuWindow();
  const started = performance.now();
  await pipeline(createReadStream(source), createWriteStream(target));
  const written = performance.now();
  const handle = await open(target, 'r+');
  await handle.sync();
  await handle.close();
  const synced = performance.now();
  const cpu = window.end();
  await rm(target, { force: true });
  return {
    writeMs: written - started,
    fsyncMs: synced - written,
    cpuSeconds: cpu.ownCpuSeconds,
    otherCores: cpu.otherCores,
  };
}

function put(agent: http.Agent, url: string, source: string, start: number, end: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/?offset=${start}`, {
      method: 'PUT',
      agent,
      headers: { 'content-length': String(end - start), 'content-type': 'application/offset+octet-stream' },
    });
    req.once('response', (res) => {
      res.resume();
      res.once('end', () =>
        res.statusCode === 204 ? resolve() : reject(new Error(`PUT: ${res.statusCode}`)),
      );
    });
    req.once('error', reject);
    createReadStream(source, { start, end: end - 1 }).pipe(req);
  });
}

async function httpRun(
  sink: Child & { ready: { url?: string } },
  source: string,
  bytes: number,
  chunk: number,
): Promise<HttpRun> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const window = cpuWindow([sink.pid]);
    const before = await sink.cpu();
    const started = performance.now();
    for (let start = 0; start < bytes; start += chunk) {
      await put(agent, sink.ready.url ?? '', source, start, Math.min(bytes, start + chunk));
    }
    const totalMs = performance.now() - started;
    const after = await sink.cpu();
    const cpu = window.end();
    return {
      totalMs,
      serverCpuSeconds: (after.userUs + after.systemUs - before.userUs - before.systemUs) / 1e6,
      otherCores: cpu.otherCores,
    };
  } finally {
    agent.destroy();
  }
}

async function tusRun(
  platform: VodPlatform,
  session: Session,
  source: string,
  chunk: number,
  ffprobePath: string,
): Promise<TusRun> {
  const videoId = await createVideo(platform.url, session, { title: 'Upload benchmark', tags: ['bench'] });
  const profiler = process.env.BENCH_VOD_PROFILE ? await startProfile(platform) : undefined;
  const window = cpuWindow([platform.pid]);
  const before = await platform.cpu();
  const toolsBefore = procCpu(platform.pid)?.childrenSeconds ?? Number.NaN;
  const t = await tusUpload(platform.url, session, videoId, source, chunk);
  const after = await platform.cpu();
  const toolsAfter = procCpu(platform.pid)?.childrenSeconds ?? Number.NaN;
  const cpu = window.end();
  const profile = await profiler?.stop('vod-upload-tus');
  if (profile) log(`profile: ${profile}\n${formatProfileSummary(summarizeProfile(profile))}`);
  const seen = await observations(platform, videoId, ['video.uploaded.v1', 'video.failed.v1'], 60_000);
  const uploaded = seen.find((o) => o.type === 'video.uploaded.v1');
  if (!uploaded) throw new Error(`the platform refused the upload: ${seen.at(-1)?.reason}`);

  const probeStarted = performance.now();
  const verdict = await ffprober(ffprobePath)(source);
  const bareProbeMs = performance.now() - probeStarted;
  if (!verdict.ok) throw new Error(`bare ffprobe refused the file: ${verdict.reason}`);
  await deleteVideo(platform.url, session, videoId);

  const last = t.patches.at(-1);
  const steady = t.patches.slice(0, -1);
  return {
    totalMs: t.doneMs - t.startedMs,
    createMs: t.createdMs - t.startedMs,
    steadyBytes: steady.reduce((sum, p) => sum + p.bytes, 0),
    steadyMs: steady.reduce((sum, p) => sum + (p.answeredMs - p.sentMs), 0),
    lastPatchMs: last ? last.answeredMs - last.sentMs : Number.NaN,
    lastByteToAnswerMs: t.doneMs - t.lastByteSentMs,
    publishedToAnswerMs: t.doneMs - uploaded.atMs,
    bareProbeMs,
    serverCpuSeconds: (after.userUs + after.systemUs - before.userUs - before.systemUs) / 1e6,
    serverToolCpuSeconds: toolsAfter - toolsBefore,
    otherCores: cpu.otherCores,
    ...(profile && { profile }),
  };
}

export function printUpload(r: UploadResult): void {
  const mibps = (ms: number, bytes = r.file.bytes) => num(bytes / MiB / (ms / 1000), 0);
  const s = (ms: number) => num(ms / 1000, 2);
  console.log(
    `\nvod-upload: ${num(r.file.bytes / MiB, 1)} MiB (a real MP4), ${num(r.file.chunkBytes / MiB, 0)} MiB per ` +
      `request, ${r.tus.length} runs each, rotating, ${r.machine.cores} cores\n`,
  );
  const rows: string[][] = [];
  r.disk.forEach((d, i) => {
    rows.push([
      `disk write, run ${i + 1}`,
      s(d.writeMs),
      mibps(d.writeMs),
      `fsync ${s(d.fsyncMs)} s → ${mibps(d.writeMs + d.fsyncMs)} MiB/s`,
      num((d.cpuSeconds * 1000) / (r.file.bytes / MiB), 2),
      num(d.otherCores, 2),
    ]);
  });
  r.http.forEach((h, i) => {
    rows.push([
      `bare HTTP PUT, run ${i + 1}`,
      s(h.totalMs),
      mibps(h.totalMs),
      '',
      num((h.serverCpuSeconds * 1000) / (r.file.bytes / MiB), 2),
      num(h.otherCores, 2),
    ]);
  });
  r.tus.forEach((t, i) => {
    rows.push([
      `tus via gateway, run ${i + 1}`,
      s(t.totalMs),
      mibps(t.totalMs),
      `steady ${mibps(t.steadyMs, t.steadyBytes)} MiB/s; last PATCH ${s(t.lastPatchMs)} s (bare ffprobe ${s(t.bareProbeMs)} s)`,
      num((t.serverCpuSeconds * 1000) / (r.file.bytes / MiB), 2),
      num(t.otherCores, 2),
    ]);
  });
  console.log(table(['', 'seconds', 'MiB/s', 'detail', 'server CPU ms/MiB', 'other cores'], rows));
  const m = r.medians;
  console.log(
    `\nmedians: tus ${num(m.tusMiBps, 0)} MiB/s (steady ${num(m.tusSteadyMiBps, 0)}), disk ${num(m.diskMiBps, 0)} MiB/s ` +
      `(with fsync ${num(m.diskWithFsyncMiBps, 0)}), bare HTTP ${num(m.httpMiBps, 0)} MiB/s`,
  );
  console.log(
    `ratio tus/disk: ${num(r.ratioToDisk, 2)}; tus/(disk + fsync): ${num(r.ratioToDiskWithFsync, 2)}; ` +
      `tus/bare HTTP: ${num(r.ratioToHttp, 2)}`,
  );
  console.log(
    `server CPU per MiB: tus ${num(m.tusServerCpuMsPerMiB, 2)} ms, bare HTTP ${num(m.httpServerCpuMsPerMiB, 2)} ms; ` +
      `finish (last PATCH) ${s(m.tusLastPatchMs)} s, of which bare ffprobe ${s(m.bareProbeMs)} s and fsync ~${s(m.fsyncMs)} s`,
  );
  for (const w of noiseWarnings([
    ...r.disk.map((d, i): [string, number] => [`disk run ${i + 1}`, d.otherCores]),
    ...r.http.map((h, i): [string, number] => [`bare HTTP run ${i + 1}`, h.otherCores]),
    ...r.tus.map((t, i): [string, number] => [`tus run ${i + 1}`, t.otherCores]),
  ]))
    console.log(w);
}

export async function benchUpload(): Promise<UploadResult> {
  const repeats = numberEnv('BENCH_VOD_REPEATS', 3);
  const chunk = numberEnv('BENCH_VOD_CHUNK_MIB', 8) * MiB;
  const ffmpeg = loadConfig(encoderConfigSpec, process.env).ffmpegPath;
  const { ffprobePath } = loadConfig(uploadsConfigSpec, process.env);
  const dir = runDir('vod-upload');
  const clip = await ensureClip(ffmpeg, { width: 1280, height: 720, fps: 30, seconds: 60 });
  const { path: source, bytes } = await loopedFile(
    ffmpeg,
    clip,
    numberEnv('BENCH_VOD_UPLOAD_MIB', 300) * MiB,
    dir,
  );

  log('vod-upload: starting the platform (all-in-one, local storage, encoder off) and the bare HTTP sink');
  const platform = await startVodPlatform({ ENCODER_IN_PROCESS: 'false' });
  const sink = await startChild(
    'put-sink',
    new URL('./servers/put-sink.ts', import.meta.url),
    {},
    {
      processGroup: true,
    },
  );
  const disk: DiskRun[] = [];
  const bare: HttpRun[] = [];
  const tus: TusRun[] = [];
  try {
    let session = await register(platform.url, 'bench_uploader');
    const kinds = ['disk', 'http', 'tus'] as const;
    for (let i = 0; i < repeats; i++) {
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(i + k) % kinds.length];
        await waitForQuiet(`vod-upload ${kind} ${i + 1}`, [platform.pid, sink.pid]);
        log(`vod-upload: run ${i + 1}/${repeats}, ${kind}`);
        if (kind === 'disk') disk.push(await diskRun(source, dir));
        else if (kind === 'http') bare.push(await httpRun(sink, source, bytes, chunk));
        else {
          session = await relogin(platform.url, session);
          tus.push(await tusRun(platform, session, source, chunk, ffprobePath));
        }
      }
    }
  } finally {
    await Promise.all([platform.stop(), sink.stop()]);
  }

  const rate = (ms: number, b = bytes) => b / MiB / (ms / 1000);
  const medians = {
    diskMiBps: median(disk.map((d) => rate(d.writeMs))),
    diskWithFsyncMiBps: median(disk.map((d) => rate(d.writeMs + d.fsyncMs))),
    httpMiBps: median(bare.map((h) => rate(h.totalMs))),
    tusMiBps: median(tus.map((t) => rate(t.totalMs))),
    tusSteadyMiBps: median(tus.map((t) => rate(t.steadyMs, t.steadyBytes))),
    tusLastPatchMs: median(tus.map((t) => t.lastPatchMs)),
    bareProbeMs: median(tus.map((t) => t.bareProbeMs)),
    fsyncMs: median(disk.map((d) => d.fsyncMs)),
    tusServerCpuMsPerMiB: median(tus.map((t) => (t.serverCpuSeconds * 1000) / (bytes / MiB))),
    httpServerCpuMsPerMiB: median(bare.map((h) => (h.serverCpuSeconds * 1000) / (bytes / MiB))),
  };
  const result: UploadResult = {
    name: 'vod-upload',
    machine: machine(),
    file: { bytes, chunkBytes: chunk },
    disk,
    http: bare,
    tus,
    medians,
    ratioToDisk: medians.tusMiBps / medians.diskMiBps,
    ratioToDiskWithFsync: medians.tusMiBps / medians.diskWithFsyncMiBps,
    ratioToHttp: medians.tusMiBps / medians.httpMiBps,
  };
  printUpload(result);
  log(`wrote ${writeResult(result.name, result)}`);
  return result;
}

if (import.meta.main) await runMain(() => benchUpload(), { maxSeconds: maxSeconds(1800) });
