import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { createLogger } from '@wavecast/kit/log';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import { JpegSplitter, Thumbnailer } from '../src/thumbnails.ts';
import { defaultLadder } from '../src/transcode/ladder.ts';
import { LiveTranscoder, type TranscoderOutputs } from '../src/transcode/supervisor.ts';
import { collect, flvTestPattern } from './support/ffmpeg.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

/** Three different JPEGs as ffmpeg's image2pipe writes them. */
async function threeJpegs(): Promise<Buffer> {
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=1'];
  args.push('-frames:v', '3', '-c:v', 'mjpeg', '-f', 'image2pipe', 'pipe:1');
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  return collect(child.stdout);
}

const isJpeg = (b: Buffer) => b[0] === 0xff && b[1] === 0xd8 && b.at(-2) === 0xff && b.at(-1) === 0xd9;

describe('JpegSplitter', () => {
  it('splits concatenated JPEGs whatever the chunk boundaries', async () => {
    const all = await threeJpegs();
    const whole = new JpegSplitter().push(all);
    expect(whole).toHaveLength(3);
    expect(Buffer.concat(whole)).toEqual(all);
    expect(whole.every(isJpeg)).toBe(true);
    for (const size of [1, 7, 1000]) {
      const splitter = new JpegSplitter();
      const out: Buffer[] = [];
      for (let at = 0; at < all.length; at += size) out.push(...splitter.push(all.subarray(at, at + size)));
      expect(out).toEqual(whole);
    }
  });

  it('drops bytes that are not a JPEG and recovers at the next picture', async () => {
    const all = await threeJpegs();
    const splitter = new JpegSplitter();
    expect(splitter.push(Buffer.from('garbage'))).toEqual([]);
    expect(splitter.push(all)).toHaveLength(3);
  });
});

describe('Thumbnailer', () => {
  it('keeps the newest picture of the stream it follows, and a new version for each', async () => {
    const all = await threeJpegs();
    const thumbs = new Thumbnailer(logger);
    const first = new PassThrough();
    thumbs.follow(first);
    first.write(all);
    await eventually(async () => expect(thumbs.version).toBe(3));
    const pictures = new JpegSplitter().push(all);
    expect(thumbs.jpeg).toEqual(pictures[2]);
    // A restarted ffmpeg: only the new stream counts.
    const second = new PassThrough();
    thumbs.follow(second);
    first.write(pictures[0]);
    second.write(pictures[1]);
    await eventually(async () => expect(thumbs.version).toBe(4));
    expect(thumbs.jpeg).toEqual(pictures[1]);
  });
});

describe('thumbnails from the live ffmpeg', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  for (const passthroughOnly of [true, false]) {
    it(`renders a JPEG at once, then every interval (${passthroughOnly ? 'passthrough' : 'ladder'})`, async () => {
      const publisher = flvTestPattern({ width: 854, height: 480, seconds: 4, realtime: true });
      cleanups.push(() => void publisher.child.kill('SIGKILL'));
      const t = new LiveTranscoder({
        ffmpegPath: 'ffmpeg',
        ladder: defaultLadder,
        passthroughOnly,
        segmentSeconds: 1,
        partMs: 250,
        preset: 'ultrafast',
        logger,
        thumbnail: { seconds: 1, height: 180 },
      });
      cleanups.push(() => t.stop());
      const thumbs = new Thumbnailer(logger);
      t.on('outputs', (o: TranscoderOutputs) => {
        for (const s of o.streams) s.resume();
        thumbs.follow(o.thumbnails!);
      });
      t.start(publisher.flv);
      await eventually(async () => expect(thumbs.version).toBeGreaterThanOrEqual(1), 10_000);
      expect(isJpeg(thumbs.jpeg!)).toBe(true);
      // 180 pixels high: the SOF0 marker's height field.
      const sof = thumbs.jpeg!.indexOf(Buffer.of(0xff, 0xc0));
      expect(thumbs.jpeg!.readUInt16BE(sof + 5)).toBe(180);
      await eventually(async () => expect(thumbs.version).toBeGreaterThanOrEqual(3), 10_000);
    }, 30_000);
  }
});
