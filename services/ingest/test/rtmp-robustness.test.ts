/**
 * The RTMP server against clients that misbehave: stalls, garbage, malformed
 * messages, media before the publish is accepted, play requests. A raw client
 * sends exactly the bytes each case needs.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeAmf0 } from '../src/rtmp/amf0.ts';
import { FlvReader } from '../src/rtmp/flv.ts';
import { command, MessageType, setChunkSize, windowAckSize } from '../src/rtmp/messages.ts';
import type { PublishRequest, PublishSession, RtmpServer, RtmpServerOptions } from '../src/rtmp/server.ts';
import { startRtmpServer } from '../src/rtmp/server.ts';
import {
  captureLogger,
  collect,
  eventually,
  type LogLine,
  RawClient,
  sleep,
  within,
} from './rtmp-support.ts';

interface Harness {
  server: RtmpServer;
  sessions: PublishSession[];
  authorized: PublishRequest[];
  lines: LogLine[];
}

let harness: Harness | undefined;
const clients: RawClient[] = [];

async function start(opts: Partial<RtmpServerOptions> = {}): Promise<Harness> {
  const { logger, lines } = captureLogger();
  const sessions: PublishSession[] = [];
  const authorized: PublishRequest[] = [];
  const server = await startRtmpServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    authorize: async (req) => {
      authorized.push(req);
    },
    onPublish: (s) => sessions.push(s),
    ...opts,
  });
  harness = { server, sessions, authorized, lines };
  return harness;
}

async function client(opts: { handshake?: boolean } = {}): Promise<RawClient> {
  const c = await RawClient.open(harness!.server.port);
  clients.push(c);
  if (opts.handshake !== false) await c.handshake();
  return c;
}

/** A client that is connected, has a stream, and has sent publish. */
async function publishing(name = 'key'): Promise<{ c: RawClient; streamId: number }> {
  const c = await client();
  await c.connectApp();
  const streamId = await c.createStream();
  c.publish(streamId, name);
  return { c, streamId };
}

const warnings = () => harness!.lines.filter((l) => l.level === 40);

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await harness?.server.close();
  harness = undefined;
});

/** The server still takes a well-behaved publisher. */
async function expectServerAlive(): Promise<void> {
  const { c } = await publishing('alive');
  await c.waitForCommand('NetStream.Publish.Start');
}

describe('RTMP ingest: timeouts and malformed input', () => {
  it('disconnects a client that stalls after the handshake, after idleTimeoutMs', async () => {
    await start({ idleTimeoutMs: 400 });
    const c = await client();
    const t0 = Date.now();
    await within(c.closed, 3000, 'the idle connection to be closed');
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(350);
    expect(waited).toBeLessThan(1500);
    expect(warnings().map((l) => l.reason)).toEqual(['timeout']);
    await expectServerAlive();
  });

  it('disconnects a client that stalls in the handshake, after handshakeTimeoutMs', async () => {
    await start({ handshakeTimeoutMs: 300 });
    const c = await client({ handshake: false });
    c.sendRaw(Buffer.of(3, 0, 0)); // C0 and the start of C1
    await within(c.closed, 3000, 'the stalled handshake to be closed');
    expect(warnings()[0]).toMatchObject({ reason: 'timeout', detail: 'handshake not completed in time' });
  });

  it('disconnects a client that sends garbage at once', async () => {
    await start();
    const c = await client({ handshake: false });
    const t0 = Date.now();
    c.sendRaw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await within(c.closed, 1000, 'the garbage connection to be closed');
    expect(Date.now() - t0).toBeLessThan(500);
    expect(warnings()[0]).toMatchObject({
      reason: 'protocol-error',
      detail: expect.stringMatching(/not an RTMP/),
    });
    await expectServerAlive();
  });

  it.each([
    [
      'a chunk stream continued before it was opened',
      () => Buffer.from('44000000000004080000', 'hex'),
      /fmt 1/,
    ],
    [
      'a command that is not AMF0',
      () => new RawClientBytes().command(Buffer.from('02ffff61', 'hex')),
      /malformed AMF0/,
    ],
    ['a message over maxMessageBytes', () => Buffer.from('060000000008000901000000', 'hex'), /exceeds 1024/],
    [
      'a command before connect',
      () => new RawClientBytes().command(encodeAmf0('createStream', 2, null)),
      /before connect/,
    ],
  ])('closes the connection on %s, logs a warning, and keeps serving', async (_name, bytes, detail) => {
    await start({ maxMessageBytes: 1024 });
    const c = await client();
    c.sendRaw(bytes());
    await within(c.closed, 2000, 'the connection to be closed');
    expect(warnings()[0]).toMatchObject({ reason: 'protocol-error', detail: expect.stringMatching(detail) });
    await expectServerAlive();
  });

  it('drops connections beyond maxConnections at accept', async () => {
    const h = await start({ maxConnections: 2 });
    await client();
    await client();
    const third = connect(h.server.port, '127.0.0.1');
    third.on('error', () => {});
    await within(new Promise((r) => third.once('close', r)), 2000, 'the third connection to be dropped');
    await eventually(() =>
      expect(warnings().map((l) => l.msg)).toContain('connection limit reached; dropped'),
    );
  });
});

/** Chunk bytes of a command message on chunk stream 3, for the malformed cases. */
class RawClientBytes {
  command(amf: Buffer): Buffer {
    const header = Buffer.from('03000000000000140000000000', 'hex').subarray(0, 12);
    header.writeUIntBE(amf.length, 4, 3);
    return Buffer.concat([header, amf]);
  }
}

describe('RTMP ingest: the publish flow', () => {
  it('sends Window Ack Size, Set Peer Bandwidth and Set Chunk Size 4096 before the connect result', async () => {
    await start();
    const c = await client();
    await c.connectApp();
    expect(c.messages.slice(0, 3).map((m) => m.typeId)).toEqual([
      MessageType.WindowAckSize,
      MessageType.SetPeerBandwidth,
      MessageType.CommandAmf0,
    ]);
    expect(c.reader.chunkSize).toBe(4096); // Set Chunk Size is applied inside the reader
  });

  it('keeps every frame sent before Publish.Start out of the FLV stream', async () => {
    let release!: () => void;
    await start({
      authorize: () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    });
    const { c, streamId } = await publishing();
    await eventually(() => expect(release).toBeDefined());
    c.media(streamId, MessageType.Video, 0, Buffer.from('EARLY-VIDEO'));
    c.media(streamId, MessageType.Audio, 0, Buffer.from('EARLY-AUDIO'));
    c.send({
      csid: 5,
      typeId: MessageType.DataAmf0,
      streamId,
      timestamp: 0,
      payload: encodeAmf0('@setDataFrame', 'onMetaData', { early: true }),
    }); // not even data messages
    await sleep(100);
    release();
    await c.waitForCommand('NetStream.Publish.Start');
    const session = await eventually(() => harness!.sessions[0] ?? Promise.reject(new Error('no session')));
    c.media(streamId, MessageType.Video, 40, Buffer.from('LATE-VIDEO'));
    c.send(command(0, 'FCUnpublish', 6, null, 'key'));
    const tags = new FlvReader().push(await within(collect(session.flv), 2000, 'the FLV stream to end'));
    expect(tags.map((t) => t.data.toString())).toEqual(['LATE-VIDEO']);
    expect(await session.ended).toEqual({ reason: 'unpublished' });
  });

  it('turns @setDataFrame into an onMetaData script tag and passes Enhanced RTMP video through', async () => {
    await start();
    const { c, streamId } = await publishing();
    await c.waitForCommand('NetStream.Publish.Start');
    const session = harness!.sessions[0]!;
    const metadata = encodeAmf0('onMetaData', { videocodecid: 'hvc1' });
    c.send({
      csid: 5,
      typeId: MessageType.DataAmf0,
      streamId,
      timestamp: 0,
      payload: Buffer.concat([encodeAmf0('@setDataFrame'), metadata]),
    });
    // An Enhanced RTMP HEVC sequence start: IsExHeader | keyframe, PacketType 0, FourCC 'hvc1'.
    const hevc = Buffer.concat([Buffer.of(0x90), Buffer.from('hvc1'), Buffer.from('config')]);
    c.media(streamId, MessageType.Video, 0, hevc);
    c.send(command(streamId, 'deleteStream', 7, null, streamId));
    const tags = new FlvReader().push(await collect(session.flv));
    expect(tags).toEqual([
      { type: 18, timestamp: 0, data: metadata },
      { type: 9, timestamp: 0, data: hevc },
    ]);
  });

  it('follows the client Set Chunk Size and acknowledges per the client window', async () => {
    await start();
    const { c, streamId } = await publishing();
    await c.waitForCommand('NetStream.Publish.Start');
    const session = harness!.sessions[0]!;
    const flv = collect(session.flv);
    c.send(setChunkSize(4096));
    c.writer.chunkSize = 4096;
    c.send(windowAckSize(5000));
    const frame = Buffer.alloc(10_000, 7);
    c.media(streamId, MessageType.Video, 0, frame);
    c.media(streamId, MessageType.Video, 33, frame);
    await eventually(() =>
      expect(c.messages.some((m) => m.typeId === MessageType.Acknowledgement)).toBe(true),
    );
    const ack = c.messages.find((m) => m.typeId === MessageType.Acknowledgement)!;
    expect(ack.payload.readUInt32BE(0)).toBeGreaterThanOrEqual(5000);
    c.send(command(0, 'FCUnpublish', 8, null, 'key'));
    const tags = new FlvReader().push(await flv);
    expect(tags.map((t) => [t.timestamp, t.data.length])).toEqual([
      [0, 10_000],
      [33, 10_000],
    ]);
  });

  it('refuses a second publish on the same connection and keeps the first', async () => {
    await start();
    const { c, streamId } = await publishing();
    await c.waitForCommand('NetStream.Publish.Start');
    c.publish(streamId, 'other');
    await c.waitForCommand('Already publishing on this connection');
    expect(harness!.authorized).toHaveLength(1);
    c.media(streamId, MessageType.Audio, 0, Buffer.from('still-here'));
    const session = harness!.sessions[0]!;
    c.send(command(0, 'FCUnpublish', 9, null, 'key'));
    const tags = new FlvReader().push(await collect(session.flv));
    expect(tags.map((t) => t.data.toString())).toEqual(['still-here']);
  });

  it('refuses play: publish-only', async () => {
    await start();
    const c = await client();
    await c.connectApp();
    const streamId = await c.createStream();
    c.send(command(streamId, 'play', 5, null, 'key'));
    const status = await c.waitForCommand('NetStream.Play.Failed');
    expect(status[3]).toMatchObject({ level: 'error' });
    await within(c.closed, 3000, 'the player to be disconnected');
  });

  it.each([
    ['a slash', 'a/b'],
    ['an empty name', ''],
    ['129 characters', 'k'.repeat(129)],
    ['a control character', 'key\n'],
  ])('refuses a stream name with %s without calling authorize', async (_name, name) => {
    await start();
    const { c } = await publishing(name);
    await c.waitForCommand('NetStream.Publish.BadName');
    await within(c.closed, 3000, 'the connection to close');
    expect(harness!.authorized).toEqual([]);
  });

  it('rejects connect without a valid app', async () => {
    await start();
    const c = await client();
    c.send(command(0, 'connect', 1, { app: '', tcUrl: 'rtmp://127.0.0.1/' }));
    await c.waitForCommand('NetConnection.Connect.Rejected');
    await within(c.closed, 3000, 'the connection to close');
  });

  it('never calls onPublish for a client that left during authorize', async () => {
    let release: (() => void) | undefined;
    await start({
      // The first publish waits for the test; later ones are accepted at once.
      authorize: () =>
        release === undefined
          ? new Promise<void>((resolve) => {
              release = resolve;
            })
          : Promise.resolve(),
    });
    const { c } = await publishing();
    await eventually(() => expect(release).toBeDefined());
    c.close();
    await within(c.closed, 1000, 'the client to leave');
    await sleep(50); // let the server see the close
    release!();
    await sleep(50);
    expect(harness!.sessions).toEqual([]);
    await expectServerAlive();
  });

  it('ends a session whose consumer destroys the FLV stream', async () => {
    await start();
    const { c } = await publishing();
    await c.waitForCommand('NetStream.Publish.Start');
    const session = harness!.sessions[0]!;
    session.flv.destroy();
    expect(await session.ended).toEqual({ reason: 'kicked' });
    await within(c.closed, 2000, 'the publisher to be disconnected');
  });
});
