import type { Readable } from 'node:stream';
import type { Logger } from '@wavecast/kit/log';

/** What a publisher asked for, as validated by the server. */
export interface PublishRequest {
  /** First path element of the connect `app` (or of tcUrl), e.g. `live`. */
  app: string;
  /** The publish name exactly as sent (usually the stream key): a secret, never logged. */
  streamName: string;
  tcUrl: string;
  remoteAddress: string;
}

export type EndReason =
  | 'unpublished'
  | 'disconnected'
  | 'timeout'
  | 'protocol-error'
  | 'kicked'
  | 'server-closed';

export interface SessionEnd {
  reason: EndReason;
  error?: string;
}

export interface PublishSession {
  readonly id: string;
  readonly request: PublishRequest;
  /**
   * FLV bytes (FLV header, then one tag per audio/video/script message, timestamps
   * from RTMP). Backpressure: when the consumer does not read, the server stops
   * reading the socket. Ends (no error) when the session ends.
   */
  readonly flv: Readable;
  /** Bytes read from the publisher's socket so far (handshake included). */
  readonly bytesReceived: number;
  /** Kicks the publisher (closes the socket); `ended` resolves with 'kicked'. */
  close(reason: string): void;
  /** Resolves once the publisher is gone, with why. Never rejects. */
  readonly ended: Promise<SessionEnd>;
}

export interface RtmpServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /**
   * Called on `publish`, before any acknowledgement. Resolve to accept; reject
   * (any error) to refuse: the client gets onStatus NetStream.Publish.BadName
   * (an AppError's message as description, otherwise "Publishing refused") and
   * the socket closes. Must settle within idleTimeoutMs, or the connection ends.
   */
  authorize(req: PublishRequest): Promise<void>;
  /** Called after NetStream.Publish.Start was sent. */
  onPublish(session: PublishSession): void;
  /** From accept to the end of the handshake; default 5000. */
  handshakeTimeoutMs?: number;
  /** No bytes from the publisher for this long ends the connection ('timeout'); default 10000. */
  idleTimeoutMs?: number;
  /** Larger messages are protocol errors; default 8 MiB, at most 16 MiB - 1 (an FLV tag's limit). */
  maxMessageBytes?: number;
  /** Connections beyond this are dropped at accept; default unlimited. */
  maxConnections?: number;
}

export interface RtmpServer {
  /** The port listened on (useful with port 0). */
  readonly port: number;
  /** Ends every session ('server-closed') and the listener; resolves when all sockets are closed. */
  close(): Promise<void>;
}
