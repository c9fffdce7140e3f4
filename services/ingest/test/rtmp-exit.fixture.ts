/**
 * Run as its own process by rtmp-exit.test.ts: publishes with ffmpeg, closes the
 * server, and then simply returns. If the server leaked a socket, timer or
 * listener, this process would not exit by itself, and the test fails.
 */
import { createLogger } from '@wavecast/kit/log';
import type { PublishSession } from '../src/rtmp/server.ts';
import { startRtmpServer } from '../src/rtmp/server.ts';
import { eventually, ffmpeg, publishArgs, RawClient } from './rtmp-support.ts';

const sessions: PublishSession[] = [];
const server = await startRtmpServer({
  host: '127.0.0.1',
  port: 0,
  logger: createLogger({ service: 'rtmp-exit-fixture', level: 'silent' }),
  authorize: async () => {},
  onPublish: (session) => {
    sessions.push(session);
    session.flv.resume();
  },
  idleTimeoutMs: 60_000,
});
const publisher = ffmpeg(publishArgs(`rtmp://127.0.0.1:${server.port}/live/exit`, { seconds: 30 }));
const stalled = await RawClient.open(server.port); // mid-handshake when the server closes
const half = await RawClient.open(server.port);
await half.handshake(); // idle after the handshake
await eventually(() => {
  if (sessions.length === 0 || sessions[0]!.bytesReceived < 20_000) throw new Error('not publishing yet');
});
await server.close();
const ended = await sessions[0]!.ended;
const exit = await publisher.exited;
await Promise.all([stalled.closed, half.closed]);
process.stdout.write(`${JSON.stringify({ ended, ffmpegExit: exit.code })}\n`);
