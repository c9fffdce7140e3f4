/**
 * The RTMP server against a real publisher: ffmpeg pushing H.264 + AAC over
 * RTMP, the way OBS does.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { AppError } from '@wavecast/kit/errors';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeAmf0Value } from '../src/rtmp/amf0.ts';
import { FlvReader, type FlvTag } from '../src/rtmp/flv.ts';
import type { PublishRequest, PublishSession, RtmpServer, RtmpServerOptions } from '../src/rtmp/server.ts';
import { startRtmpServer } from '../src/rtmp/server.ts';
import { FLV_HIGH_WATER_MARK } from '../src/rtmp/session.ts';
import {
  captureLogger,
  collect,
  eventually,
  ffmpeg,
  killAll,
  type LogLine,
  publishArgs,
  RawClient,
  sleep,
  within,
} from './rtmp-support.ts';

interface Harness {
  server: RtmpServer;
  sessions: PublishSession[];
  lines: LogLine[];
  url(key: string): string;
}

let harness: Harness | undefined;
const cleanups: (() => Promise<void> | void)[] = [];

async function start(opts: Partial<RtmpServerOptions> = {}): Promise<Harness> {
  const { logger, lines } = captureLogger();
  const sessions: PublishSession[] = [];
  const server = await startRtmpServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    authorize: async () => {},
    onPublish: (s) => sessions.push(s),
    ...opts,
  });
  harness = { server, sessions, lines, url: (key) => `rtmp://127.0.0.1:${server.port}/live/${key}` };
  return harness;
}

afterEach(async () => {
  await killAll();
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await harness?.server.close();
  harness = undefined;
});

function tags(flv: Buffer): FlvTag[] {
  return new FlvReader().push(flv);
}

const isAvcSequenceHeader = (t: FlvTag) => t.type === 9 && t.data[0] === 0x17 && t.data[1] === 0;
const isAacSequenceHeader = (t: FlvTag) => t.type === 8 && t.data[0]! >> 4 === 10 && t.data[1] === 0;

describe('RTMP ingest with ffmpeg as the publisher', () => {
  it('turns an accepted publish into an FLV stream that ffprobe reads as h264 + aac', async () => {
    const authorized: PublishRequest[] = [];
    const h = await start({
      authorize: async (req) => {
        authorized.push(req);
      },
    });
    const started = performance.now();
    const ff = ffmpeg(publishArgs(h.url('sk_secret_123'), { seconds: 3 }));
    const session = await eventually(() => h.sessions[0] ?? Promise.reject(new Error('no session yet')));
    const flv = await within(collect(session.flv), 15_000, 'the FLV stream to end');
    expect((await ff.exited).code).toBe(0);
    expect(await session.ended).toEqual({ reason: 'unpublished' });

    expect(authorized).toEqual([
      {
        app: 'live',
        streamName: 'sk_secret_123',
        tcUrl: expect.stringMatching(/\/live$/),
        remoteAddress: '127.0.0.1',
      },
    ]);
    expect(session.request).toEqual(authorized[0]);
    expect(flv.subarray(0, 3).toString()).toBe('FLV');
    const all = tags(flv);
    expect(all[0]!.type).toBe(18);
    expect(decodeAmf0Value(all[0]!.data).value).toBe('onMetaData');
    expect(all.some(isAvcSequenceHeader)).toBe(true);
    expect(all.some(isAacSequenceHeader)).toBe(true);
    const video = all.filter((t) => t.type === 9);
    expect(video.length).toBeGreaterThanOrEqual(85); // 3 s at 30 fps
    const last = Math.max(...all.map((t) => t.timestamp));
    expect(last).toBeGreaterThan(2800);
    expect(last).toBeLessThan(3300);
    expect(session.bytesReceived).toBeGreaterThan(flv.length * 0.9);

    const dir = await mkdtemp(join(tmpdir(), 'wavecast-rtmp-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'capture.flv'), flv);
    const probe = await promisify(execFile)('ffprobe', [
      '-v',
      'error',
      '-show_streams',
      '-of',
      'json',
      join(dir, 'capture.flv'),
    ]);
    const streams = (JSON.parse(probe.stdout) as { streams: { codec_name: string }[] }).streams;
    expect(streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);

    // The stream name is the stream key: it never reaches the log.
    expect(JSON.stringify(h.lines)).not.toContain('sk_secret_123');
    console.info(`accepted publish: ${Math.round(performance.now() - started)} ms, ${flv.length} FLV bytes`);
  });

  it('refuses a publish that authorize rejects, before any frame reaches an output', async () => {
    const h = await start({
      authorize: async () => {
        throw new AppError('permission_denied', 'Unknown stream key.');
      },
    });
    const ff = ffmpeg(publishArgs(h.url('wrong'), { seconds: 3 }));
    const exit = await within(ff.exited, 15_000, 'ffmpeg to give up');
    expect(exit.code).not.toBe(0);
    expect(ff.stderr()).toContain('Unknown stream key.');
    expect(h.sessions).toEqual([]);
    await eventually(() => expect(h.lines.find((l) => l.reason === 'refused')).toBeDefined());
  });

  it('calls authorize before anything acknowledges the publish', async () => {
    const events: { what: string; at: number }[] = [];
    const note = (what: string) => events.push({ what, at: performance.now() });
    const h = await start({
      authorize: async () => {
        note('authorize:start');
        await sleep(300);
        note('authorize:end');
      },
      onPublish: (s) => {
        note('onPublish');
        h.sessions.push(s);
        s.flv.resume();
      },
    });
    // A recording proxy between ffmpeg and the server: what reaches the client, and when.
    const downstream: { at: number; text: string }[] = [];
    const proxy = createServer((client: Socket) => {
      const upstream = tcpConnect(h.server.port, '127.0.0.1');
      client.pipe(upstream);
      upstream.on('data', (d: Buffer) => {
        downstream.push({ at: performance.now(), text: d.toString('latin1') });
        if (d.includes('NetStream.Publish.Start')) note('client:Publish.Start');
        client.write(d);
      });
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.on('error', () => {});
      upstream.on('error', () => {});
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    cleanups.push(() => closeServer(proxy));
    const port = (proxy.address() as { port: number }).port;

    const ff = ffmpeg(publishArgs(`rtmp://127.0.0.1:${port}/live/slow`, { seconds: 1 }));
    await within(ff.exited, 15_000, 'ffmpeg to finish');
    const order = events.map((e) => e.what);
    expect(order.filter((w) => w !== 'onPublish')).toEqual([
      'authorize:start',
      'authorize:end',
      'client:Publish.Start',
    ]);
    // onPublish follows the write of Publish.Start, which may reach the proxy just before or after it.
    expect(order.indexOf('onPublish')).toBeGreaterThan(order.indexOf('authorize:end'));
    const at = (what: string) => events.find((e) => e.what === what)!.at;
    expect(at('client:Publish.Start') - at('authorize:start')).toBeGreaterThanOrEqual(295);
    // Nothing at all reached the client while authorize was pending.
    expect(downstream.filter((d) => d.at > at('authorize:start') && d.at < at('authorize:end'))).toEqual([]);
  });

  it('allows one publisher per stream', async () => {
    const h = await start();
    const first = ffmpeg(publishArgs(h.url('same'), { seconds: 30 }));
    const session = await eventually(() => h.sessions[0] ?? Promise.reject(new Error('no session yet')));
    session.flv.resume();
    const second = ffmpeg(publishArgs(h.url('same'), { seconds: 3 }));
    expect((await within(second.exited, 15_000, 'the second publisher to be refused')).code).not.toBe(0);
    expect(second.stderr()).toContain('already being published');
    expect(h.sessions).toHaveLength(1);
    expect(first.child.exitCode).toBeNull();
    // Once the first is gone, the name is free again.
    session.close('test done');
    await within(first.exited, 10_000, 'the first publisher to exit');
    const third = ffmpeg(publishArgs(h.url('same'), { seconds: 1 }));
    expect((await within(third.exited, 15_000, 'the third publisher')).code).toBe(0);
    expect(h.sessions).toHaveLength(2);
  });

  it('ends the session as disconnected when the publisher is killed', async () => {
    const h = await start();
    const ff = ffmpeg(publishArgs(h.url('killed'), { seconds: 30 }));
    const session = await eventually(() => h.sessions[0] ?? Promise.reject(new Error('no session yet')));
    const flv = collect(session.flv);
    await eventually(() => expect(session.bytesReceived).toBeGreaterThan(50_000));
    ff.child.kill('SIGKILL');
    expect(await within(session.ended, 5000, 'ended')).toMatchObject({ reason: 'disconnected' });
    const bytes = await within(flv, 5000, 'the FLV stream to end');
    expect(tags(bytes).some(isAvcSequenceHeader)).toBe(true);
  });

  it('kicks a publisher: session.close disconnects ffmpeg', async () => {
    const h = await start();
    const ff = ffmpeg(publishArgs(h.url('kicked'), { seconds: 30 }));
    const session = await eventually(() => h.sessions[0] ?? Promise.reject(new Error('no session yet')));
    session.flv.resume();
    await eventually(() => expect(session.bytesReceived).toBeGreaterThan(50_000));
    session.close('banned');
    expect(await session.ended).toEqual({ reason: 'kicked' });
    const exit = await within(ff.exited, 10_000, 'ffmpeg to notice');
    expect(exit.code).not.toBe(0);
    expect(h.lines.find((l) => l.reason === 'kicked')?.detail).toBe('banned');
  });

  it('server.close() ends every session and connection', async () => {
    const h = await start();
    const a = ffmpeg(publishArgs(h.url('a'), { seconds: 30 }));
    const b = ffmpeg(publishArgs(h.url('b'), { seconds: 30 }));
    const idle = await RawClient.open(h.server.port);
    await eventually(() => expect(h.sessions).toHaveLength(2));
    for (const s of h.sessions) s.flv.resume();
    await within(h.server.close(), 5000, 'server.close()');
    for (const s of h.sessions) expect(await s.ended).toEqual({ reason: 'server-closed' });
    await within(idle.closed, 1000, 'the idle socket to close');
    for (const ff of [a, b]) expect((await within(ff.exited, 10_000, 'ffmpeg to exit')).code).not.toBe(0);
  });

  it('stops reading the socket while the FLV consumer does not read', async () => {
    // A short idle timeout too: a publisher we stopped reading is not idle.
    const h = await start({ idleTimeoutMs: 1000 });
    // Lossless H.264 as fast as ffmpeg can encode: tens of MB/s, far more than any buffer here.
    const ff = ffmpeg(publishArgs(h.url('flood'), { seconds: 20, realtime: false, lossless: true }));
    const session = await eventually(() => h.sessions[0] ?? Promise.reject(new Error('no session yet')));
    await eventually(() => expect(session.flv.readableLength).toBeGreaterThanOrEqual(FLV_HIGH_WATER_MARK));
    const before = session.bytesReceived;
    await sleep(2000); // the consumer deliberately does not read for 2 s
    expect(session.bytesReceived).toBe(before); // paused: not a byte more read from the socket
    expect(session.flv.readableLength).toBeLessThan(FLV_HIGH_WATER_MARK + 1024 * 1024);
    expect(before).toBeLessThan(4 * 1024 * 1024);
    expect(ff.child.exitCode).toBeNull(); // the publisher is blocked, not finished
    expect(session.bytesReceived).toBeGreaterThan(0);

    const reader = new FlvReader();
    let frames = 0;
    session.flv.on('data', (d: Buffer) => {
      frames += reader.push(d).filter((t) => t.type === 9).length;
    });
    await eventually(() => expect(session.bytesReceived).toBeGreaterThan(before + 8 * 1024 * 1024));
    expect(frames).toBeGreaterThan(0);
    expect(h.lines.filter((l) => l.reason === 'timeout')).toEqual([]);
    console.info(
      `backpressure: ${before} bytes read before pausing, ${session.bytesReceived} after resuming`,
    );
  });
});

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
