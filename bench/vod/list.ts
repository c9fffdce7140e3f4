/**
 * `GET /v1/videos` requests/s with warm caches, listing and searching 200
 * READY public videos through the real gateway of the all-in-one process,
 * against a bare Fastify answering the very same response body (captured
 * from the platform, precomputed), measured in the same run with the same
 * load just before each listing (autocannon, 50 connections, 2 s warm-up,
 * 10 s measured, as bench/gateway-users.ts). The bare Fastify hello-world of
 * gateway-users is measured once too, for reference.
 *
 * Seeding: the videos are created with `POST /v1/videos`, then made READY
 * by publishing `video.uploaded.v1` and `video.encoded.v1` on the platform's
 * bus (from inside the child, as the uploads service and the encoder would;
 * the encoder is off); half of them get 1-5 views through
 * `GET /v1/videos/{id}` so that `sort=views` has an order.
 *
 * Besides req/s and latency, each run reads the platform's /metrics before
 * and after: catalog RPCs per HTTP request and the catalog's own time per
 * RPC (where the SQL runs), which says whether a listing is served from a
 * cache or by an RPC and a query per request.
 *
 *   npm exec -- node bench/vod/list.ts
 *   BENCH_VOD_PROFILE=1 npm exec -- node bench/vod/list.ts   # + CPU profile of each platform run, summarised
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild } from '../lib/children.ts';
import { type LoadOutcome, type LoadParams, measureLoad, withEnvOverrides } from '../lib/load.ts';
import { log, type Machine, machine, noiseWarnings, num, table, writeResult } from '../lib/report.ts';
import { runMain } from '../lib/run-main.ts';
import { createVideo, getVideo, register, type Session } from './lib/api.ts';
import { removeDir, runDir } from './lib/media.ts';
import { publish, startProfile, startVodPlatform, type VodPlatform } from './lib/platform.ts';
import { formatProfileSummary, type ProfileSummary, summarizeProfile } from './lib/profile-summary.ts';
import { waitForQuiet } from './lib/quiet.ts';
import { maxSeconds, numberEnv } from './lib/stats.ts';

export const SEARCH_WORD = 'harbour';

/**
 * autocannon's per-request timeout (its default is 10 s): with 50 connections
 * on a listing served at ~100 req/s, a busy machine sees a few requests wait
 * longer, and a timeout fails the run. The max latency is reported.
 */
const TIMEOUT_SECONDS = 30;

export const defaultParams: LoadParams = withEnvOverrides({
  /** `BENCH_VOD_CONNECTIONS` changes it (e.g. on a machine too busy for 50 to finish within autocannon's 10 s timeout). */
  connections: numberEnv('BENCH_VOD_CONNECTIONS', 50),
  pipelining: 1,
  durationSeconds: 10,
  warmupSeconds: 2,
});

const targets = [
  { name: 'GET /v1/videos?limit=20', path: '/v1/videos?limit=20' },
  { name: 'GET /v1/videos?sort=views', path: '/v1/videos?sort=views' },
  { name: `GET /v1/videos?q=${SEARCH_WORD}`, path: `/v1/videos?q=${SEARCH_WORD}` },
] as const;

/** What /metrics says about the measured requests. */
export interface RpcFigures {
  /** Catalog ListVideos RPCs handled per HTTP request of the run. */
  rpcsPerRequest: number;
  /** The catalog's mean time per ListVideos (its SQL included), and the gateway's mean time per request (ms). */
  rpcServerMs: number;
  httpServerMs: number;
}

export interface ListTargetResult {
  name: string;
  path: string;
  /** Bytes of one response body, and how many videos it lists. */
  bodyBytes: number;
  videos: number;
  /** Bare Fastify answering the same body, precomputed, measured just before. */
  baseline: LoadOutcome;
  load: LoadOutcome;
  rpc: RpcFigures;
  /** Platform ÷ same-size baseline: req/s, and req per server CPU-second. */
  ratio: number;
  cpuRatio: number;
  /** Platform req/s ÷ the hello-world's. */
  ratioToHello: number;
  profile?: { file: string; summary: ProfileSummary };
}

export interface ListResult {
  name: 'vod-list';
  machine: Machine;
  params: LoadParams;
  /** Videos seeded, how many match the search word, how many have views. */
  seeded: { videos: number; matching: number; viewed: number };
  /** Bare Fastify hello-world (17 bytes), for reference. */
  hello: LoadOutcome;
  targets: ListTargetResult[];
}

const adjectives = ['quiet', 'golden', 'rainy', 'bright', 'misty', 'windy', 'frozen'];
const places = [SEARCH_WORD, 'mountain', 'city', 'forest', 'desert'];

/** The i-th video: the search word is in every 5th title and in the description of another 5th. */
export function seedVideo(i: number) {
  const adjective = adjectives[i % adjectives.length] ?? 'quiet';
  const place = places[i % places.length] ?? 'city';
  const other = places[(i + 2) % places.length] ?? 'city';
  return {
    title: `A ${adjective} ${place}, part ${i + 1}`,
    description: `Filmed on a ${adjective} day, on the way to the ${other}.`,
    tags: [place, adjective],
    visibility: 'public' as const,
  };
}

async function inBatches<T>(count: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < count; start += width) {
    const batch = Array.from({ length: Math.min(width, count - start) }, (_, k) => fn(start + k));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

function pipelineEvents(id: string, ownerId: string) {
  const at = new Date().toISOString();
  const base = `videos/${id}/`;
  return [
    {
      type: 'video.uploaded.v1',
      data: {
        video_id: id,
        owner_id: ownerId,
        source_key: `uploads/${id}/source`,
        size_bytes: 50_000_000,
        probe: {
          duration_seconds: 60,
          width: 1280,
          height: 720,
          video_codec: 'h264',
          audio_codec: 'aac',
          frame_rate: 30,
        },
        uploaded_at: at,
      },
    },
    {
      type: 'video.encoded.v1',
      data: {
        video_id: id,
        duration_seconds: 60,
        hls_key: `${base}master.m3u8`,
        dash_key: `${base}manifest.mpd`,
        poster_key: `${base}poster.jpg`,
        storyboard: {
          key: `${base}storyboard.jpg`,
          columns: 10,
          rows: 6,
          tile_width: 160,
          tile_height: 90,
          interval_seconds: 1,
        },
        renditions: [
          { name: '720p', width: 1280, height: 720, bandwidth: 3_100_000, codecs: 'avc1.64001f,mp4a.40.2' },
          { name: '480p', width: 854, height: 480, bandwidth: 1_600_000, codecs: 'avc1.64001e,mp4a.40.2' },
          { name: '360p', width: 640, height: 360, bandwidth: 950_000, codecs: 'avc1.64001e,mp4a.40.2' },
          { name: '240p', width: 426, height: 240, bandwidth: 520_000, codecs: 'avc1.640015,mp4a.40.2' },
        ],
        encoded_at: at,
      },
    },
  ];
}

/** How many videos a listing holds, page by page (`query`: more query parameters). */
async function listAll(base: string, query = ''): Promise<number> {
  let count = 0;
  let cursor = '';
  for (;;) {
    const res = await fetch(
      `${base}/v1/videos?limit=100${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    const body = (await res.json()) as { videos: unknown[]; next_cursor: string | null };
    count += body.videos.length;
    if (!body.next_cursor) return count;
    cursor = body.next_cursor;
  }
}

/** `count` READY public videos, half of them with 1-5 views. */
async function seed(platform: VodPlatform, session: Session, count: number) {
  const ids = await inBatches(count, 8, (i) => createVideo(platform.url, session, seedVideo(i)));
  for (let start = 0; start < ids.length; start += 50) {
    await publish(
      platform,
      ids.slice(start, start + 50).flatMap((id) => pipelineEvents(id, session.id)),
    );
  }
  const deadline = performance.now() + 60_000;
  while ((await listAll(platform.url)) < count) {
    if (performance.now() > deadline)
      throw new Error(`the ${count} videos did not all become READY within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Views count once per viewer session (address + user agent) per window: one user agent per view.
  const viewed = Math.floor(count / 2);
  const views = Array.from({ length: viewed }, (_, i) =>
    Array.from({ length: 1 + (i % 5) }, (_, k) => [i, k]),
  )
    .flat()
    .map(([i, k]) => ({ id: ids[i as number] as string, viewer: k as number }));
  await inBatches(views.length, 8, (n) => {
    const { id, viewer } = views[n] as { id: string; viewer: number };
    return getVideo(platform.url, id, { userAgent: `bench-viewer-${viewer}` });
  });
  return { videos: count, viewed, matching: await listAll(platform.url, `&q=${SEARCH_WORD}`) };
}

/** Sums of a histogram's `_count` and `_sum` over the series whose labels contain `match`. */
async function scrape(base: string, metric: string, match: string): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let count = 0;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || !line.includes(match)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith(`${metric}_count{`)) count += value;
    else if (line.startsWith(`${metric}_sum{`)) sum += value;
  }
  return { count, sum };
}

async function rpcFigures(base: string) {
  const [rpc, httpReq] = await Promise.all([
    scrape(base, 'wavecast_rpc_server_duration_seconds', 'ListVideos'),
    scrape(base, 'wavecast_http_request_duration_seconds', 'route="/v1/videos"'),
  ]);
  return { rpc, http: httpReq };
}

async function measureHello(params: LoadParams): Promise<LoadOutcome> {
  log('vod-list: reference, bare Fastify hello-world');
  const hello = await startChild(
    'hello-world',
    new URL('../servers/hello.ts', import.meta.url),
    {},
    { processGroup: true },
  );
  try {
    await waitForQuiet('vod-list hello-world', [hello.pid]);
    return await measureLoad(
      'hello-world',
      hello,
      { url: `${hello.ready.url}/`, timeout: TIMEOUT_SECONDS },
      params,
    );
  } finally {
    await hello.stop();
  }
}

/** One listing's body as the platform answers it (warm: asked twice), and how many videos it holds. */
async function firstBody(name: string, url: string): Promise<{ text: string; videos: number }> {
  let text = '';
  for (let i = 0; i < 2; i++) {
    const res = await fetch(url);
    text = await res.text();
    if (res.status !== 200) throw new Error(`${name}: ${res.status} ${text}`);
  }
  const videos = (JSON.parse(text) as { videos: unknown[] }).videos.length;
  if (videos === 0) throw new Error(`${name} lists no video`);
  return { text, videos };
}

async function measureTargets(
  params: LoadParams,
  hello: LoadOutcome,
): Promise<{ seeded: ListResult['seeded']; results: ListTargetResult[] }> {
  const count = numberEnv('BENCH_VOD_LIST_VIDEOS', 200);
  log(`vod-list: platform (all-in-one, encoder off), seeding ${count} READY videos`);
  const platform = await startVodPlatform({ ENCODER_IN_PROCESS: 'false' });
  const dir = runDir('vod-list');
  try {
    const session = await register(platform.url, 'bench_lister');
    const seeded = await seed(platform, session, count);
    const bodies = [];
    for (const target of targets) bodies.push(await firstBody(target.name, `${platform.url}${target.path}`));
    // The baseline answers the very same bytes, precomputed.
    const bodiesFile = join(dir, 'bodies.json');
    writeFileSync(bodiesFile, JSON.stringify(bodies.map((b) => b.text)));
    const staticJson = await startChild(
      'static-json',
      new URL('./servers/static-json.ts', import.meta.url),
      { BENCH_VOD_BODIES: bodiesFile },
      { processGroup: true },
    );
    const results: ListTargetResult[] = [];
    try {
      for (const [i, target] of targets.entries()) {
        const { text, videos } = bodies[i] as { text: string; videos: number };
        const idle = [platform.pid, staticJson.pid];
        await waitForQuiet(`vod-list baseline for ${target.name}`, idle);
        log(`vod-list: baseline, bare Fastify answering the same ${Buffer.byteLength(text)} bytes`);
        const baseline = await measureLoad(
          `static JSON for ${target.name}`,
          staticJson,
          { url: `${staticJson.ready.url}/${i}`, timeout: TIMEOUT_SECONDS },
          params,
        );

        await waitForQuiet(`vod-list ${target.name}`, idle);
        log(`vod-list: ${target.name}`);
        const url = `${platform.url}${target.path}`;
        const profiler = process.env.BENCH_VOD_PROFILE ? await startProfile(platform) : undefined;
        const before = await rpcFigures(platform.url);
        const load = await measureLoad(target.name, platform, { url, timeout: TIMEOUT_SECONDS }, params);
        const after = await rpcFigures(platform.url);
        const file = await profiler?.stop(`vod-list-${target.path.replace(/\W+/g, '_')}`);
        const httpCount = after.http.count - before.http.count;
        const rpcCount = after.rpc.count - before.rpc.count;
        const result: ListTargetResult = {
          name: target.name,
          path: target.path,
          bodyBytes: Buffer.byteLength(text),
          videos,
          baseline,
          load,
          rpc: {
            rpcsPerRequest: rpcCount / httpCount,
            rpcServerMs: ((after.rpc.sum - before.rpc.sum) * 1000) / rpcCount,
            httpServerMs: ((after.http.sum - before.http.sum) * 1000) / httpCount,
          },
          ratio: load.requestsPerSecond / baseline.requestsPerSecond,
          cpuRatio: load.requestsPerServerCpuSecond / baseline.requestsPerServerCpuSecond,
          ratioToHello: load.requestsPerSecond / hello.requestsPerSecond,
        };
        if (file) {
          const summary = summarizeProfile(file);
          result.profile = { file, summary };
          log(`profile: ${file}\n${formatProfileSummary(summary)}`);
        }
        results.push(result);
      }
    } finally {
      await staticJson.stop();
    }
    return { seeded, results };
  } finally {
    await platform.stop();
    removeDir(dir);
  }
}

export function printList(r: ListResult): void {
  const row = (name: string, o: LoadOutcome, extra: string[]) => [
    name,
    num(o.requestsPerSecond),
    num(o.latencyMs.p50),
    num(o.latencyMs.p99),
    num(o.latencyMs.max),
    num(o.serverCpuUsPerRequest, 0),
    num(o.requestsPerServerCpuSecond),
    ...extra,
    num(o.loadGeneratorCores, 2),
    num(o.otherCores, 2),
  ];
  const { connections, pipelining, durationSeconds, warmupSeconds } = r.params;
  console.log(
    `\nvod-list: ${r.seeded.videos} READY public videos (${r.seeded.matching} match q=${SEARCH_WORD}, ` +
      `${r.seeded.viewed} have views), 20 per page, ` +
      `${connections} connections, pipelining ${pipelining}, ${durationSeconds} s after ${warmupSeconds} s warm-up, ` +
      `${r.machine.cores} cores${r.targets.some((t) => t.profile) ? ', PROFILED (slower)' : ''}\n`,
  );
  console.log(
    table(
      [
        '',
        'req/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'CPU µs/req',
        'req/CPU-s',
        'body bytes',
        'ratio',
        'per CPU-s',
        'RPCs/req',
        'catalog ms/RPC',
        'load-gen cores',
        'other cores',
      ],
      [
        row('fastify hello-world (reference)', r.hello, ['17', '', '', '', '']),
        ...r.targets.flatMap((t) => [
          row(`  baseline: same ${num(t.bodyBytes)} bytes, static`, t.baseline, [
            num(t.bodyBytes),
            '1.00',
            '1.00',
            '',
            '',
          ]),
          row(t.name, t.load, [
            num(t.bodyBytes),
            num(t.ratio, 2),
            num(t.cpuRatio, 2),
            num(t.rpc.rpcsPerRequest, 2),
            num(t.rpc.rpcServerMs, 2),
          ]),
        ]),
      ],
    ),
  );
  console.log('');
  for (const t of r.targets) {
    console.log(
      `${t.name}: ${num(t.load.requestsPerSecond)} req/s, ratio to the same body served bare ${num(t.ratio, 2)} ` +
        `(per server CPU-second ${num(t.cpuRatio, 2)}), to the hello-world ${num(t.ratioToHello, 2)}; ` +
        `${num(t.rpc.rpcsPerRequest, 2)} catalog RPCs per request, ${num(t.rpc.rpcServerMs, 2)} ms each in the catalog, ` +
        `${num(t.rpc.httpServerMs, 2)} ms per request in the gateway`,
    );
  }
  for (const w of noiseWarnings([
    ['fastify hello-world', r.hello.otherCores],
    ...r.targets.flatMap((t): [string, number][] => [
      [`baseline for ${t.name}`, t.baseline.otherCores],
      [t.name, t.load.otherCores],
    ]),
  ]))
    console.log(w);
}

export async function benchList(params: LoadParams = defaultParams): Promise<ListResult> {
  const hello = await measureHello(params);
  const { seeded, results } = await measureTargets(params, hello);
  const result: ListResult = {
    name: 'vod-list',
    machine: machine(),
    params,
    seeded,
    hello,
    targets: results,
  };
  printList(result);
  log(`wrote ${writeResult(result.name, result)}`);
  return result;
}

if (import.meta.main) await runMain(() => benchList(), { maxSeconds: maxSeconds(900) });
