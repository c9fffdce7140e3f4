/**
 * The encoder end to end on the embedded adapters: `video.uploaded.v1` in,
 * real ffmpeg encodes, HLS + DASH in a `file:` storage, outcome events out.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bus, openBus } from '@wavecast/kit/bus';
import { newId } from '@wavecast/kit/ids';
import { openStorage, type Storage } from '@wavecast/kit/storage';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import type { Encoder } from '../src/index.ts';
import { parseMpdDuration } from '../src/outputs.ts';
import {
  announce,
  type Outcome,
  outcomesOf,
  recordOutcomes,
  settled,
  startEncoder,
  upload,
} from './support/encoder.ts';
import { makeClip, probeFile } from './support/media.ts';

/** Segment start times (seconds) of each Representation of an MPD with SegmentTimeline, in order. */
function segmentStarts(mpd: string): number[][] {
  return [...mpd.matchAll(/<Representation [\s\S]*?<\/Representation>/g)].map(([rep]) => {
    const timescale = Number(/timescale="(\d+)"/.exec(rep)?.[1]);
    const starts: number[] = [];
    let t = 0;
    for (const [, start, d, r] of rep.matchAll(/<S (?:t="(\d+)" )?d="(\d+)"(?: r="(\d+)")? \/>/g)) {
      if (start !== undefined) t = Number(start);
      for (let i = 0; i <= Number(r ?? 0); i++) {
        starts.push(Math.round((t / timescale) * 1000) / 1000);
        t += Number(d);
      }
    }
    return starts;
  });
}

let root: string;
const media = (name: string) => join(root, 'media', name);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'wavecast-encoder-test-'));
  await mkdir(join(root, 'media'));
  await Promise.all([
    makeClip(media('clip.mp4'), { seconds: 6, size: { width: 640, height: 360 } }),
    makeClip(media('tall.mp4'), {
      seconds: 3,
      size: { width: 361, height: 641 },
      fps: 25,
      audio: false,
      vfr: true,
    }),
    makeClip(media('song.m4a'), { seconds: 5 }),
    makeClip(media('long.mp4'), { seconds: 16, size: { width: 1280, height: 720 }, fps: 60 }),
    writeFile(media('corrupt.mp4'), Buffer.alloc(64 * 1024, 0x5a)),
  ]);
}, 120_000);
afterAll(() => rm(root, { recursive: true, force: true }));

describe('encoder', () => {
  let bus: Bus;
  let storage: Storage;
  let storageDir: string;
  let workDir: string;
  let encoder: Encoder;
  let seen: Outcome[];

  beforeEach(async () => {
    const dir = await mkdtemp(join(root, 'run-'));
    storageDir = join(dir, 'storage');
    workDir = join(dir, 'work');
    bus = await openBus('memory:');
    storage = await openStorage(`file:${storageDir}`);
    seen = await recordOutcomes(bus);
    ({ encoder } = await startEncoder(bus, storage, { tmpDir: workDir }));
  });
  afterEach(async () => {
    await encoder.stop();
    await bus.close();
    await storage.close();
  });

  /**
   * ffmpeg's own demuxers open both manifests from storage and see every
   * rendition. Absolute paths: ffmpeg 5.1's DASH demuxer mis-resolves the
   * segments of a relative manifest path in a subdirectory. It also reads
   * `mediaPresentationDuration` in whole seconds, so the MPD's declared
   * duration is checked as written.
   */
  async function expectPlayable(
    encoded: { hls_key: string; dash_key: string },
    want: { seconds: number; streams: number },
  ) {
    const hls = await probeFile(join(storageDir, encoded.hls_key));
    expect(Math.abs(hls.duration - want.seconds)).toBeLessThanOrEqual(0.5);
    expect(hls.streams).toBe(want.streams);
    const dash = await probeFile(join(storageDir, encoded.dash_key));
    const declared = parseMpdDuration(await readFile(join(storageDir, encoded.dash_key), 'utf8')) ?? 0;
    expect(Math.abs(declared - want.seconds)).toBeLessThanOrEqual(0.5);
    expect(dash.duration).toBe(Math.floor(declared));
    expect(dash.streams).toBe(want.streams);
  }

  const keysUnder = async (videoId: string) =>
    (await storage.list(`videos/${videoId}/`)).map((o) => o.key.slice(`videos/${videoId}/`.length));

  it('encodes an upload into HLS and DASH with a poster and a storyboard, then re-announces it without encoding', async () => {
    const started = Date.now();
    const id = await upload(bus, storage, media('clip.mp4'));
    const outcome = await settled(seen, id);
    const encodeMs = Date.now() - started;
    expect(outcome.type).toBe('video.encoded.v1');
    const encoded = outcome.data as Extract<Outcome, { type: 'video.encoded.v1' }>['data'];
    expect(encoded).toMatchObject({
      video_id: id,
      hls_key: `videos/${id}/master.m3u8`,
      dash_key: `videos/${id}/manifest.mpd`,
      poster_key: `videos/${id}/poster.jpg`,
      storyboard: {
        key: `videos/${id}/storyboard.jpg`,
        columns: 6,
        rows: 1,
        tile_width: 160,
        tile_height: 90,
        interval_seconds: 1,
      },
    });
    expect(encoded.duration_seconds).toBeCloseTo(6, 0);
    expect(encoded.renditions.map((r) => [r.name, r.width, r.height])).toEqual([
      ['360p', 640, 360],
      ['240p', 426, 240],
    ]);
    for (const r of encoded.renditions) expect(r.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);

    const keys = await keysUnder(id);
    expect(keys).toEqual(
      expect.arrayContaining([
        'master.m3u8',
        'manifest.mpd',
        'media_0.m3u8',
        'media_1.m3u8',
        'media_2.m3u8',
        'init-0.m4s',
        'init-2.m4s',
        'seg-0-00001.m4s',
        'seg-0-00002.m4s',
        'seg-2-00002.m4s',
        'poster.jpg',
        'storyboard.jpg',
        'encoded.json',
      ]),
    );
    const master = await readFile(join(storageDir, encoded.hls_key), 'utf8');
    expect(master.match(/#EXT-X-STREAM-INF/g)?.length).toBeGreaterThanOrEqual(2);
    expect((await storage.head(encoded.hls_key))?.contentType).toBe('application/vnd.apple.mpegurl');
    expect((await storage.head(encoded.dash_key))?.contentType).toBe('application/dash+xml');
    expect((await storage.head(`videos/${id}/seg-0-00001.m4s`))?.contentType).toBe('video/iso.segment');
    expect((await storage.head(`videos/${id}/poster.jpg`))?.contentType).toBe('image/jpeg');

    await expectPlayable(encoded, { seconds: 6, streams: 3 }); // two video renditions and the audio
    const percents = outcomesOf(seen, 'video.progress.v1', id).map((p) => p.data.percent);
    expect(percents[0]).toBe(0);
    expect(percents.at(-1)).toBe(100);
    expect(percents.length).toBeGreaterThanOrEqual(4);
    expect(percents).toEqual([...new Set(percents)].sort((a, b) => a - b));
    expect(await readdir(workDir)).toEqual([]);

    // A redelivery (or a duplicate upload event) publishes the stored result again.
    const before = await storage.list(`videos/${id}/`);
    const again = Date.now();
    await announce(bus, id, `uploads/${id}/source.mp4`);
    await eventually(async () => expect(outcomesOf(seen, 'video.encoded.v1', id)).toHaveLength(2));
    const replayMs = outcomesOf(seen, 'video.encoded.v1', id)[1]!.at - again;
    expect(outcomesOf(seen, 'video.encoded.v1', id)[1]!.data).toEqual(encoded);
    expect(await storage.list(`videos/${id}/`)).toEqual(before);
    expect(replayMs).toBeLessThan(Math.min(1_000, encodeMs / 2));
    console.info(`encode of a 6 s 640x360 clip: ${encodeMs} ms; replay: ${replayMs} ms`);
  }, 60_000);

  it('encodes a longer 720p60 video with segments aligned across every rendition', async () => {
    const id = await upload(bus, storage, media('long.mp4'));
    const outcome = await settled(seen, id, 120_000);
    expect(outcome.type).toBe('video.encoded.v1');
    const encoded = outcome.data as Extract<Outcome, { type: 'video.encoded.v1' }>['data'];
    expect(encoded.renditions.map((r) => [r.name, r.width, r.height])).toEqual([
      ['720p', 1280, 720],
      ['480p', 854, 480],
      ['360p', 640, 360],
      ['240p', 426, 240],
    ]);
    await expectPlayable(encoded, { seconds: 16, streams: 5 });
    const mpd = await readFile(join(storageDir, encoded.dash_key), 'utf8');
    expect([...mpd.matchAll(/frameRate="(\d+\/\d+)"/g)].map((m) => m[1])).toEqual([
      '60/1',
      '30/1',
      '30/1',
      '30/1',
    ]);
    const grids = segmentStarts(mpd).slice(0, 4);
    expect(grids[0]).toEqual([0, 4, 8, 12]);
    for (const grid of grids) expect(grid).toEqual(grids[0]);
  }, 120_000);

  it('encodes a portrait, odd-sized, variable-frame-rate video without audio', async () => {
    const id = await upload(bus, storage, media('tall.mp4'));
    const outcome = await settled(seen, id);
    expect(outcome.type).toBe('video.encoded.v1');
    const encoded = outcome.data as Extract<Outcome, { type: 'video.encoded.v1' }>['data'];
    expect(encoded.renditions.map((r) => [r.name, r.width, r.height])).toEqual([
      ['360p', 360, 640],
      ['240p', 240, 426],
    ]);
    for (const r of encoded.renditions) expect(r.codecs).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expect(encoded.storyboard).toMatchObject({ tile_width: 50, tile_height: 90 });
    await expectPlayable(encoded, { seconds: 3, streams: 2 });
  }, 60_000);

  it('encodes an audio-only source with an audio-only ladder', async () => {
    const id = await upload(bus, storage, media('song.m4a'));
    const outcome = await settled(seen, id);
    expect(outcome.type).toBe('video.encoded.v1');
    const encoded = outcome.data as Extract<Outcome, { type: 'video.encoded.v1' }>['data'];
    expect(encoded).toMatchObject({ poster_key: null, storyboard: null });
    expect(encoded.renditions).toEqual([
      { name: 'aac-128k', width: 0, height: 0, bandwidth: expect.any(Number), codecs: 'mp4a.40.2' },
      { name: 'aac-64k', width: 0, height: 0, bandwidth: expect.any(Number), codecs: 'mp4a.40.2' },
    ]);
    await expectPlayable(encoded, { seconds: 5, streams: 2 });
  }, 60_000);

  it('fails a corrupt file with a readable reason after every attempt, and dead-letters it', async () => {
    const id = await upload(bus, storage, media('corrupt.mp4'));
    const outcome = await settled(seen, id);
    expect(outcome).toMatchObject({
      type: 'video.failed.v1',
      data: {
        video_id: id,
        stage: 'encode',
        reason: expect.stringMatching(/^the video could not be decoded: \S/),
      },
    });
    console.info(`corrupt file: ${(outcome.data as { reason: string }).reason}`);
    await eventually(async () => {
      const dead = await bus.deadLetters('encoder');
      expect(
        dead.map((d) => [d.envelope.attempt, (d.envelope.data as { video_id: string }).video_id]),
      ).toEqual([[3, id]]);
      expect(dead[0]!.error).toBe((outcome.data as { reason: string }).reason);
    });
    expect(outcomesOf(seen, 'video.failed.v1', id)).toHaveLength(1);
    expect(await keysUnder(id)).toEqual([]);
    expect(await readdir(workDir)).toEqual([]);
  }, 60_000);

  it('fails at once when the source is missing, and goes on with other jobs', async () => {
    const missing = newId('vid');
    await announce(bus, missing, `uploads/${missing}/source.mp4`);
    const good = await upload(bus, storage, media('clip.mp4'));
    expect(await settled(seen, missing)).toMatchObject({
      type: 'video.failed.v1',
      data: { reason: 'the uploaded file is missing from storage' },
    });
    expect((await bus.deadLetters('encoder'))[0]?.envelope.attempt).toBe(1);
    expect((await settled(seen, good)).type).toBe('video.encoded.v1');
  }, 60_000);

  it('kills ffmpeg on stop, leaving no process, temporary file or announcement behind', async () => {
    const id = await upload(bus, storage, media('long.mp4'));
    await eventually(async () => {
      expect(outcomesOf(seen, 'video.progress.v1', id).some((p) => p.data.percent >= 10)).toBe(true);
    }, 30_000);
    const stopping = Date.now();
    await encoder.stop();
    expect(Date.now() - stopping).toBeLessThan(3_000);
    const processes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(processes).not.toContain(workDir);
    expect(await readdir(workDir)).toEqual([]);
    expect(seen.filter((o) => o.type !== 'video.progress.v1')).toEqual([]);
  }, 60_000);
});
