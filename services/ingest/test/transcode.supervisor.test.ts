import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@wavecast/kit/log';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import { Fmp4Parser } from '../src/hls/index.ts';
import { defaultLadder } from '../src/transcode/ladder.ts';
import { LiveTranscoder, type TranscoderOutputs } from '../src/transcode/supervisor.ts';
import { alive, flvTestPattern } from './support/ffmpeg.ts';

const logger = createLogger({ service: 'test', level: 'silent' });
const options = {
  ffmpegPath: 'ffmpeg',
  ladder: defaultLadder,
  passthroughOnly: false,
  segmentSeconds: 1,
  partMs: 250,
  preset: 'ultrafast',
  logger,
};

/** Records, per generation, the bytes each rendition produced. */
function record(t: LiveTranscoder) {
  const generations: { outputs: TranscoderOutputs; bytes: Buffer[] }[] = [];
  t.on('outputs', (outputs: TranscoderOutputs) => {
    const entry = { outputs, bytes: outputs.streams.map(() => Buffer.alloc(0)) };
    generations.push(entry);
    outputs.streams.forEach((s, i) => {
      s.on('data', (d: Buffer) => {
        entry.bytes[i] = Buffer.concat([entry.bytes[i]!, d]);
      });
    });
  });
  return generations;
}

const boxType = (b: Buffer) => b.toString('latin1', 4, 8);

function parse(fmp4: Buffer): { codecs: string[]; durations: number[] } {
  let codecs: string[] = [];
  const durations: number[] = [];
  const parser = new Fmp4Parser({
    init: (init) => {
      codecs = init.tracks.map((t) => t.codec);
    },
    fragment: (f) => void durations.push(f.duration),
    error: () => undefined,
  });
  parser.push(fmp4);
  return { codecs, durations };
}

describe('LiveTranscoder', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('emits fMP4 for the source and each lower rung, and restarts a killed ffmpeg', async () => {
    const publisher = flvTestPattern({ width: 854, height: 480, seconds: 8, realtime: true });
    cleanups.push(() => void publisher.child.kill('SIGKILL'));
    const t = new LiveTranscoder(options);
    cleanups.push(() => t.stop());
    const generations = record(t);
    t.start(publisher.flv);

    await eventually(async () => {
      expect(generations[0]?.bytes.every((b) => b.includes(Buffer.from('moof')))).toBe(true);
    }, 10_000);
    expect(generations[0]!.outputs.renditions.map((r) => r.name)).toEqual(['source', '360p']);
    for (const b of generations[0]!.bytes) expect(boxType(b)).toBe('ftyp');
    // Both decoder configurations reached ffmpeg: the audio track says which AAC it is.
    for (const b of generations[0]!.bytes) {
      const { codecs, durations } = parse(b);
      expect(codecs).toEqual(expect.arrayContaining(['mp4a.40.2']));
      // Every fragment (LL-HLS part) stays near the part target, the first one included.
      expect(Math.max(...durations)).toBeLessThanOrEqual(0.3);
    }

    const firstPid = t.pid!;
    process.kill(firstPid, 'SIGKILL');
    await eventually(async () => {
      expect(generations[1]?.bytes.every((b) => b.includes(Buffer.from('moof')))).toBe(true);
    }, 10_000);
    expect(generations[1]!.outputs.generation).toBe(1);
    expect(t.restarts).toBe(1);
    expect(t.pid).not.toBe(firstPid);
    for (const b of generations[1]!.bytes) expect(boxType(b)).toBe('ftyp');

    const pid = t.pid!;
    await t.stop();
    expect(alive(pid)).toBe(false);
  }, 30_000);

  it('passes the source through only when asked to', async () => {
    const publisher = flvTestPattern({ width: 1280, height: 720, seconds: 2 });
    cleanups.push(() => void publisher.child.kill('SIGKILL'));
    const t = new LiveTranscoder({ ...options, passthroughOnly: true });
    cleanups.push(() => t.stop());
    const generations = record(t);
    t.start(publisher.flv);
    await eventually(async () =>
      expect(generations[0]?.outputs.renditions.map((r) => r.name)).toEqual(['source']),
    );
  });

  it('leaves no ffmpeg behind when its parent process dies', async () => {
    const script = fileURLToPath(new URL('./support/transcode-child.ts', import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => void child.kill('SIGKILL'));
    const ffmpegPid = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        const m = /ffmpeg (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error('child exited before starting ffmpeg')));
    });
    expect(alive(ffmpegPid)).toBe(true);
    child.kill('SIGKILL');
    await eventually(async () => expect(alive(ffmpegPid)).toBe(false), 10_000);
  }, 30_000);
});
