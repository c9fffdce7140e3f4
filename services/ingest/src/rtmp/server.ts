/**
 * Wavecast's RTMP ingest server (publish only). See services/ingest/docs/rtmp.md
 * for why it exists and the protocol subset it speaks.
 */
import { type AddressInfo, createServer, type Server } from 'node:net';
import { AppError } from '@wavecast/kit/errors';
import { type ConnectionHost, RtmpConnection } from './connection.ts';
import type { RtmpServer, RtmpServerOptions } from './types.ts';

export type {
  EndReason,
  PublishRequest,
  PublishSession,
  RtmpServer,
  RtmpServerOptions,
  SessionEnd,
} from './types.ts';

const DEFAULTS = {
  handshakeTimeoutMs: 5000,
  idleTimeoutMs: 10_000,
  maxMessageBytes: 8 * 1024 * 1024,
};
/** An FLV tag's size field is 24 bits. */
const MAX_MESSAGE_BYTES = 0xffffff;

function positiveInteger(name: string, value: number | undefined, max = Number.MAX_SAFE_INTEGER): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0 && value <= max)) {
    throw new AppError('invalid_argument', `RTMP server: ${name} must be an integer in 1..${max}`);
  }
}

function resolveOptions(opts: RtmpServerOptions): ConnectionHost['options'] {
  positiveInteger('handshakeTimeoutMs', opts.handshakeTimeoutMs);
  positiveInteger('idleTimeoutMs', opts.idleTimeoutMs);
  positiveInteger('maxMessageBytes', opts.maxMessageBytes, MAX_MESSAGE_BYTES);
  positiveInteger('maxConnections', opts.maxConnections);
  return {
    host: opts.host,
    port: opts.port,
    authorize: opts.authorize,
    onPublish: opts.onPublish,
    handshakeTimeoutMs: opts.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    maxMessageBytes: opts.maxMessageBytes ?? DEFAULTS.maxMessageBytes,
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts listening; resolves once bound (rejects if the port cannot be bound). */
export async function startRtmpServer(opts: RtmpServerOptions): Promise<RtmpServer> {
  const options = resolveOptions(opts);
  const logger = opts.logger.child({ component: 'rtmp' });
  const connections = new Set<RtmpConnection>();
  /** `app/streamName` → the connection publishing it: one publisher per stream. */
  const publishers = new Map<string, RtmpConnection>();
  let closing = false;

  const host: ConnectionHost = {
    logger,
    options,
    claim(key, conn) {
      if (closing || publishers.has(key)) return false;
      publishers.set(key, conn);
      return true;
    },
    release(key, conn) {
      if (publishers.get(key) === conn) publishers.delete(key);
    },
    closed(conn) {
      connections.delete(conn);
    },
  };

  const server = createServer({ noDelay: true }, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    connections.add(new RtmpConnection(socket, host));
  });
  if (opts.maxConnections !== undefined) server.maxConnections = opts.maxConnections;
  server.on('drop', (data) =>
    logger.warn({ remote: data?.remoteAddress }, 'connection limit reached; dropped'),
  );
  await listen(server, options.host, options.port);
  server.on('error', (err) => logger.error({ err }, 'RTMP listener error'));
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: options.host, port }, 'RTMP ingest listening');

  let closed: Promise<void> | undefined;
  return {
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        // The callback runs once the listener and every accepted socket are closed.
        server.close(() => resolve());
        for (const conn of connections) conn.shutdown();
      });
      return closed;
    },
  };
}
