/**
 * Test helpers for the RTMP server: ffmpeg publishers that never outlive a test,
 * a raw RTMP client for what ffmpeg will not do, a log capture, and deadlines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { createLogger, type Logger } from '@wavecast/kit/log';
import { type Amf0Value, decodeAmf0 } from '../src/rtmp/amf0.ts';
import {
  ChunkReader,
  ChunkWriter,
  type OutgoingMessage,
  type RtmpMessage,
} from '../src/rtmp/chunk-stream.ts';
import { HANDSHAKE_SIZE } from '../src/rtmp/handshake.ts';
import { command, MessageType } from '../src/rtmp/messages.ts';

/** Retries `check` until it passes or `ms` elapse; rethrows the last failure. */
export async function eventually<T>(check: () => T | Promise<T>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((done) => setTimeout(done, 25));
    }
  }
}

/** `promise`, or a failure naming `what` after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A real pino logger whose lines are kept for assertions (warn = 40). */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({
    service: 'ingest-test',
    level: 'debug',
    destination: { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  });
  return { logger, lines };
}

/** Reads a stream to its end. */
export async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

export interface Ffmpeg {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

const running = new Set<ChildProcess>();

/** Spawns ffmpeg (or ffprobe); every process is tracked so `killAll` can end it. */
export function ffmpeg(args: string[], bin = 'ffmpeg'): Ffmpeg {
  const child = spawn(bin, ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, exited, stderr: () => err };
}

/** Kills every ffmpeg still running and waits for them to be gone. */
export async function killAll(): Promise<void> {
  const children = [...running];
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(
    children.map((c) =>
      c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('close', r)) : 0,
    ),
  );
}

/** The publish command an OBS-like encoder amounts to: H.264 + AAC over RTMP. */
export function publishArgs(
  url: string,
  opts: { seconds: number; realtime?: boolean; lossless?: boolean } = { seconds: 3 },
): string[] {
  return [
    '-loglevel',
    'error',
    ...(opts.realtime === false ? [] : ['-re']),
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=640x360:rate=30',
    '-f',
    'lavfi',
    '-i',
    'sine',
    '-c:v',
    'libx264',
    ...(opts.lossless
      ? ['-preset', 'ultrafast', '-qp', '0']
      : ['-preset', 'veryfast', '-tune', 'zerolatency']),
    '-g',
    '30',
    '-c:a',
    'aac',
    '-t',
    String(opts.seconds),
    '-f',
    'flv',
    url,
  ];
}

/** A hand-driven RTMP client, for the misbehaviour and edge cases ffmpeg never produces. */
export class RawClient {
  readonly socket: Socket;
  readonly reader = new ChunkReader({ maxMessageBytes: 16 * 1024 * 1024 });
  readonly writer = new ChunkWriter();
  readonly messages: RtmpMessage[] = [];
  readonly closed: Promise<void>;
  #raw: Buffer = Buffer.alloc(0);
  #handshaken = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.on('data', (data: Buffer) => {
      if (this.#handshaken) this.messages.push(...this.reader.push(data));
      else this.#raw = Buffer.concat([this.#raw, data]);
    });
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  async handshake(): Promise<void> {
    const c1 = Buffer.concat([Buffer.alloc(8), randomBytes(HANDSHAKE_SIZE - 8)]);
    this.socket.write(Buffer.concat([Buffer.of(3), c1]));
    await eventually(() => {
      if (this.#raw.length < 1 + 2 * HANDSHAKE_SIZE) throw new Error(`handshake: ${this.#raw.length} bytes`);
    }, 5000);
    const s1 = this.#raw.subarray(1, 1 + HANDSHAKE_SIZE);
    const rest = this.#raw.subarray(1 + 2 * HANDSHAKE_SIZE);
    this.#handshaken = true;
    this.socket.write(s1);
    if (rest.length > 0) this.messages.push(...this.reader.push(rest));
  }

  send(msg: OutgoingMessage): void {
    this.socket.write(this.writer.encode(msg));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Commands the server sent, decoded. */
  commands(): Amf0Value[][] {
    return this.messages
      .filter((m) => m.typeId === MessageType.CommandAmf0)
      .map((m) => decodeAmf0(m.payload));
  }

  /** The first status/result whose AMF text contains `text`. */
  async waitForCommand(text: string, ms = 5000): Promise<Amf0Value[]> {
    return eventually(() => {
      const found = this.commands().find((c) => JSON.stringify(c).includes(text));
      if (!found) throw new Error(`no command containing ${text}; got ${JSON.stringify(this.commands())}`);
      return found;
    }, ms);
  }

  async connectApp(app = 'live'): Promise<void> {
    this.send(command(0, 'connect', 1, { app, tcUrl: `rtmp://127.0.0.1/${app}`, flashVer: 'FMLE/3.0' }));
    await this.waitForCommand('NetConnection.Connect.Success');
  }

  async createStream(): Promise<number> {
    this.send(command(0, 'createStream', 4, null));
    const result = await this.waitForCommand('"_result",4');
    return result[3] as number;
  }

  publish(streamId: number, name: string): void {
    this.send(command(streamId, 'publish', 5, null, name, 'live'));
  }

  media(streamId: number, typeId: number, timestamp: number, payload: Buffer): void {
    this.send({ csid: typeId === MessageType.Audio ? 4 : 6, typeId, streamId, timestamp, payload });
  }

  close(): void {
    this.socket.destroy();
  }
}
