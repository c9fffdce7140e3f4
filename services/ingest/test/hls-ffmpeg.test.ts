/**
 * The whole path on real ffmpeg output: fragmented MP4 from libx264 + AAC,
 * parsed at random chunk boundaries, packaged, checked with ffprobe, served
 * over HTTP to ffmpeg's own (non-LL) HLS client, and followed live by a
 * client doing LL-HLS blocking reloads while ffmpeg encodes in real time.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Parser } from 'm3u8-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fmp4Parser, type Fragment, type InitSegment } from '../src/hls/fmp4.ts';
import { LiveStream, packageFmp4 } from '../src/hls/live.ts';
import { createHlsOrigin } from '../src/hls/origin.ts';
import { RenditionPackager } from '../src/hls/packager.ts';
import { renderMediaPlaylist } from '../src/hls/playlist.ts';

const run = promisify(execFile);

const fmp4Output = [
  '-f',
  'mp4',
  '-movflags',
  '+frag_keyframe+empty_moov+default_base_moof',
  '-frag_duration',
  '250000',
];
const testInputs = (size: string) => [
  '-f',
  'lavfi',
  '-i',
  `testsrc2=size=${size}:rate=30`,
  '-f',
  'lavfi',
  '-i',
  'sine',
];
const gop1s = ['-g', '30', '-keyint_min', '30', '-sc_threshold', '0'];

function ffmpeg(args: string[]) {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args, 'pipe:1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return child;
}

async function ffmpegBytes(args: string[]): Promise<Buffer> {
  const child = ffmpeg(args);
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const [code] = await once(child, 'close');
  expect(code).toBe(0);
  return Buffer.concat(chunks);
}

async function ffprobe(...args: string[]) {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-of', 'json', ...args]);
  return JSON.parse(stdout);
}

/** mulberry32: repeatable "random" chunk sizes. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parse(text: string) {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return parser.manifest;
}

let dir: string;
let file: Buffer;
let init: InitSegment;
const fragments: Fragment[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wavecast-hls-'));
  file = await ffmpegBytes([
    ...testInputs('640x360'),
    '-c:v',
    'libx264',
    ...gop1s,
    '-c:a',
    'aac',
    '-t',
    '6',
    ...fmp4Output,
  ]);
  const next = random(42);
  const parser = new Fmp4Parser({
    init: (i) => {
      expect(init).toBeUndefined();
      init = i;
    },
    fragment: (f) => void fragments.push(f),
    error: (err) => {
      throw err;
    },
  });
  for (let offset = 0; offset < file.length; ) {
    const n = 1 + Math.floor(next() * (next() < 0.2 ? 16 : 9000));
    parser.push(file.subarray(offset, offset + n));
    offset += n;
  }
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ffmpeg fMP4 → parser', () => {
  it('describes the tracks and returns every byte but the trailing mfra', () => {
    expect(init.tracks).toEqual([
      { id: 1, kind: 'video', timescale: 15360, codec: 'avc1.64001e', width: 640, height: 360 },
      { id: 2, kind: 'audio', timescale: 44100, codec: 'mp4a.40.2', sampleRate: 44100, channels: 2 },
    ]);
    const rebuilt = Buffer.concat([init.bytes, ...fragments.map((f) => f.bytes)]);
    expect(file.subarray(rebuilt.length).toString('latin1', 4, 8)).toBe('mfra');
    expect(rebuilt.equals(file.subarray(0, rebuilt.length))).toBe(true);
    expect(fragments.reduce((sum, f) => sum + f.sampleCount, 0)).toBe(180);
  });

  it('marks exactly the fragments that start on a keyframe as independent', async () => {
    const path = join(dir, 'whole.mp4');
    await writeFile(path, file);
    const probe = await ffprobe('-select_streams', 'v', '-show_entries', 'packet=dts,flags', path);
    const keyframes = probe.packets.filter((p: any) => p.flags.startsWith('K')).map((p: any) => p.dts);
    expect(keyframes).toEqual([0, 15360, 30720, 46080, 61440, 76800]);
    const independent = fragments.filter((f) => f.independent).map((f) => f.runs[0]!.baseMediaDecodeTime);
    expect(independent).toEqual(keyframes);
    for (let i = 1; i < fragments.length; i++) {
      const [prev, cur] = [fragments[i - 1]!, fragments[i]!];
      if (cur.sampleCount > 0) expect(cur.decodeTime).toBeCloseTo(prev.decodeTime + prev.duration, 6);
    }
  });
});

describe('ffmpeg fMP4 → packager', () => {
  const packager = new RenditionPackager({ firstMsn: 0, keyframeInterval: 1 });

  beforeAll(() => {
    packager.addInit(init);
    for (const f of fragments) packager.addFragment(f);
  });

  it('renders a live LL-HLS playlist of 1 s segments and ~250 ms parts', () => {
    const live = parse(renderMediaPlaylist(packager.playlist()!));
    expect(live.targetDuration).toBe(1);
    expect(live.partTargetDuration).toBe(0.267);
    expect(live.serverControl).toMatchObject({ canBlockReload: true, holdBack: 3, partHoldBack: 0.801 });
    expect(live.segments.map((s: any) => [s.uri, s.duration])).toEqual(
      [0, 1, 2, 3, 4, 5].map((msn) => [`seg-${msn}.m4s`, 1]),
    );
    expect(live.segments.at(-1).parts.map((p: any) => p.uri)).toEqual(
      [0, 1, 2, 3].map((i) => `part-5.${i}.m4s`),
    );
    expect(live.segments.at(-1).parts[0].independent).toBe(true);
    // The last fragment is audio only (ffmpeg flushes the audio after the last video frame).
    expect(live.preloadSegment.parts).toEqual([{ duration: 0.03247, uri: 'part-6.0.m4s' }]);
    expect(live.preloadSegment.preloadHints).toEqual([{ type: 'PART', uri: 'part-6.1.m4s' }]);
  });

  it('makes segments that ffprobe reads as 1 s of H.264 and AAC, equal to their parts', async () => {
    const segment = packager.segmentBytes(2)!;
    const parts = [0, 1, 2, 3].map((i) => packager.partBytes(2, i)!);
    expect(Buffer.concat(parts).equals(segment)).toBe(true);
    const path = join(dir, 'seg-2.mp4');
    await writeFile(path, Buffer.concat([init.bytes, segment]));
    const probe = await ffprobe(
      '-show_entries',
      'stream=codec_name:packet=stream_index,pts_time,duration_time',
      path,
    );
    expect(probe.streams.map((s: any) => s.codec_name)).toEqual(['h264', 'aac']);
    const video = probe.packets.filter((p: any) => p.stream_index === 0);
    const start = Math.min(...video.map((p: any) => Number(p.pts_time)));
    const end = Math.max(...video.map((p: any) => Number(p.pts_time) + Number(p.duration_time)));
    expect(video).toHaveLength(30);
    expect(end - start).toBeCloseTo(1, 3);
    expect(start).toBeGreaterThanOrEqual(2);
  });

  it('is played to the end by ffmpeg as ordinary HLS, through the origin', async () => {
    const stream = new LiveStream({ src: {} }, { firstMsn: 0, keyframeInterval: 1 });
    const p = stream.rendition('src');
    p.addInit(init);
    for (const f of fragments) p.addFragment(f);
    p.end();
    const { server, base } = await serve(new Map([['test', stream]]));
    try {
      const probe = await ffprobe(
        '-count_frames',
        '-show_entries',
        'stream=codec_name,nb_read_frames',
        `${base}/live/test/master.m3u8`,
      );
      expect(probe.streams.map((s: any) => [s.codec_name, Number(s.nb_read_frames)])).toEqual([
        ['h264', 180],
        ['aac', 260],
      ]);
    } finally {
      server.close();
    }
  });
});

async function serve(streams: Map<string, LiveStream>): Promise<{ server: Server; base: string }> {
  const origin = createHlsOrigin({ streams });
  const server = createServer((req, res) => {
    if (!origin.listener(req, res)) res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('live: ffmpeg in real time, an LL-HLS client blocking on each next part', () => {
  it('delivers every part in order as soon as it is packaged', async () => {
    const stream = new LiveStream({ src: {} }, { keyframeInterval: 1 });
    const packager = stream.rendition('src');
    const { server, base } = await serve(new Map([['cam', stream]]));
    const child = ffmpeg([
      '-re',
      ...testInputs('320x180'),
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', ...gop1s],
      ...['-c:a', 'aac', '-t', '4', ...fmp4Output],
    ]);
    const packaging = packageFmp4(child.stdout, packager).then(() => stream.end());
    try {
      const url = `${base}/live/cam/src/index.m3u8`;
      let manifest = parse(await (await fetch(url)).text()); // held until the first part exists
      const fetched: { uri: string; held: number; bytes: Buffer }[] = [];
      // Like a player at the live edge: start at the preload hint, then take every part in turn,
      // asking for each one (and a playlist that lists it) before it exists.
      let next: string | undefined = manifest.preloadSegment.preloadHints[0].uri;
      while (next) {
        const [, msn, part] = /^part-(\d+)\.(\d+)\.m4s$/.exec(next)!;
        const started = Date.now();
        const [partRes, playlistRes] = await Promise.all([
          fetch(`${base}/live/cam/src/${next}`),
          fetch(`${url}?_HLS_msn=${msn}&_HLS_part=${part}`),
        ]);
        const text = await playlistRes.text();
        expect(playlistRes.status).toBe(200);
        manifest = parse(text);
        if (partRes.status === 404 && manifest.endList) break; // the hinted part never came: the end
        expect([next, partRes.status]).toEqual([next, 200]);
        expect(text).toContain(`URI="${next}"`);
        fetched.push({
          uri: next,
          held: Date.now() - started,
          bytes: Buffer.from(await partRes.arrayBuffer()),
        });
        const listed: string[] = [...manifest.segments, manifest.preloadSegment ?? {}]
          .flatMap((s: any) => s.parts ?? [])
          .map((p: any) => p.uri);
        next = listed[listed.indexOf(next) + 1] ?? manifest.preloadSegment?.preloadHints?.[0]?.uri;
      }
      await packaging;
      // ~4 s of ~250 ms parts, each one requested before it existed, in order, none skipped.
      expect(fetched.length).toBeGreaterThanOrEqual(12);
      const positions = fetched.map((f) => f.uri.match(/\d+/g)!.map(Number));
      for (let i = 1; i < positions.length; i++) {
        const [[m0, p0], [m1, p1]] = [positions[i - 1]!, positions[i]!];
        expect(m1 === m0 ? p1 === p0! + 1 : m1 === m0! + 1 && p1 === 0).toBe(true);
      }
      expect(fetched.filter((f) => f.held > 100).length).toBeGreaterThan(fetched.length / 3);
      for (const f of fetched) {
        const [msn, part] = f.uri.match(/\d+/g)!.map(Number);
        expect(f.bytes.equals(packager.partBytes(msn!, part!) ?? Buffer.alloc(0))).toBe(true);
      }
    } finally {
      child.kill();
      server.close();
    }
  });
});
