/**
 * One publisher's TCP connection, the transport half: handshake, chunk stream,
 * acknowledgements, the one timer (handshake, then idle), and pausing the
 * socket for backpressure. Commands and media go to the `PublishFlow`. Every
 * way out goes through `close`, exactly once.
 */
import type { Socket } from 'node:net';
import { newId } from '@wavecast/kit/ids';
import type { Logger } from '@wavecast/kit/log';
import { ChunkReader, ChunkWriter, type OutgoingMessage } from './chunk-stream.ts';
import { ServerHandshake } from './handshake.ts';
import { acknowledgement, MessageType, setChunkSize, setPeerBandwidth, windowAckSize } from './messages.ts';
import { type CloseMode, type CloseReason, type FlowTransport, PublishFlow } from './publish-flow.ts';
import type { RtmpServerOptions } from './types.ts';

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly logger: Logger;
  readonly options: Required<Omit<RtmpServerOptions, 'maxConnections' | 'logger'>>;
  /** Claims a stream name for this connection; false when another connection publishes it. */
  claim(key: string, conn: RtmpConnection): boolean;
  release(key: string, conn: RtmpConnection): void;
  closed(conn: RtmpConnection): void;
}

/** Window we announce (Window Ack Size, Set Peer Bandwidth) and ack by until the client sets its own. */
const WINDOW = 2_500_000;
const MIN_ACK_WINDOW = 4096;
const OUT_CHUNK_SIZE = 4096;
/** Replies the client does not read: past this it is not a publisher we want. */
const MAX_WRITE_BACKLOG = 1024 * 1024;
/** How long a refused or unpublished client gets to read our last word before the socket is destroyed. */
const LINGER_MS = 2000;

export class RtmpConnection implements FlowTransport {
  readonly id = newId('liv');
  readonly log: Logger;
  readonly remoteAddress: string;
  readonly #socket: Socket;
  readonly #host: ConnectionHost;
  readonly #handshake = new ServerHandshake();
  readonly #reader: ChunkReader;
  readonly #writer = new ChunkWriter();
  readonly #flow: PublishFlow;
  #state: 'handshake' | 'open' | 'closing' | 'closed' = 'handshake';
  #timer: NodeJS.Timeout | undefined;
  #lastActivity = Date.now();
  #paused = false;
  #bytesIn = 0;
  #ackWindow = WINDOW;
  #ackedAt = 0;

  constructor(socket: Socket, host: ConnectionHost) {
    this.#socket = socket;
    this.#host = host;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.log = host.logger.child({ connection: this.id, remote: this.remoteAddress });
    this.#reader = new ChunkReader({ maxMessageBytes: host.options.maxMessageBytes });
    this.#flow = new PublishFlow(this.id, this, {
      authorize: host.options.authorize,
      onPublish: host.options.onPublish,
      claim: (key) => host.claim(key, this),
      release: (key) => host.release(key, this),
    });
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.#onData(data));
    socket.on('end', () => this.close('disconnected'));
    socket.on('error', (err) => this.close('disconnected', err.message));
    socket.on('close', () => this.#onClose());
    this.#timer = setTimeout(
      () => this.close('timeout', 'handshake not completed in time'),
      host.options.handshakeTimeoutMs,
    );
  }

  #onData(data: Buffer): void {
    if (this.isClosing()) return;
    this.#bytesIn += data.length;
    this.#lastActivity = Date.now();
    try {
      let chunks = data;
      if (this.#state === 'handshake') {
        const step = this.#handshake.push(data);
        if (step.reply) this.#socket.write(step.reply);
        if (!step.done) return;
        this.#state = 'open';
        this.log.debug({ digest: this.#handshake.digest }, 'handshake done');
        this.#armIdle(this.#host.options.idleTimeoutMs);
        chunks = step.rest;
      }
      for (const msg of this.#reader.push(chunks)) {
        if (msg.typeId === MessageType.WindowAckSize && msg.payload.length >= 4) {
          this.#ackWindow = Math.max(MIN_ACK_WINDOW, msg.payload.readUInt32BE(0));
        } else {
          this.#flow.onMessage(msg);
        }
        if (this.isClosing()) return;
      }
      if (this.#bytesIn - this.#ackedAt >= this.#ackWindow) {
        this.#ackedAt = this.#bytesIn;
        this.send(acknowledgement(this.#bytesIn));
      }
    } catch (err) {
      this.close('protocol-error', err instanceof Error ? err.message : String(err));
    }
  }

  send(msg: OutgoingMessage): void {
    if (this.isClosing()) return;
    this.#socket.write(this.#writer.encode(msg));
    if (this.#socket.writableLength > MAX_WRITE_BACKLOG) {
      this.close('protocol-error', 'the client does not read what we send');
    }
  }

  sendConnectControls(): void {
    this.send(windowAckSize(WINDOW));
    this.send(setPeerBandwidth(WINDOW));
    this.send(setChunkSize(OUT_CHUNK_SIZE));
    this.#writer.chunkSize = OUT_CHUNK_SIZE;
  }

  isClosing(): boolean {
    return this.#state === 'closing' || this.#state === 'closed';
  }

  bytesReceived(): number {
    return this.#bytesIn;
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#socket.pause();
  }

  resume(): void {
    if (!this.#paused || this.isClosing()) return;
    this.#paused = false;
    this.#lastActivity = Date.now();
    this.#socket.resume();
  }

  #armIdle(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#checkIdle(), ms);
  }

  #checkIdle(): void {
    if (this.isClosing()) return;
    const limit = this.#host.options.idleTimeoutMs;
    const idle = Date.now() - this.#lastActivity;
    // While paused it is our consumer that is slow, not the publisher.
    if (this.#paused) this.#armIdle(limit);
    else if (idle >= limit) this.close('timeout', `no data for ${limit} ms`);
    else this.#armIdle(limit - idle);
  }

  /** The server is shutting down. */
  shutdown(): void {
    this.close('server-closed');
  }

  /**
   * Closes the connection once, whatever asks first. 'linger' lets the client
   * read our last reply (an error status, or the FIN after an unpublish).
   */
  close(reason: CloseReason, detail?: string, how: CloseMode = 'destroy'): void {
    if (this.isClosing()) {
      if (how === 'destroy') this.#socket.destroy();
      return;
    }
    const wasPublishing = this.#flow.publishing;
    this.#state = 'closing';
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const hasError = reason === 'protocol-error' || reason === 'timeout' || reason === 'disconnected';
    this.#flow.closed(reason, hasError ? detail : undefined);
    this.#logEnd(reason, detail, wasPublishing);
    if (how === 'linger') {
      this.#socket.end();
      this.#socket.resume(); // read (and ignore) until the client's FIN
      this.#timer = setTimeout(() => this.#socket.destroy(), LINGER_MS);
    } else {
      this.#socket.destroy();
    }
  }

  #logEnd(reason: CloseReason, detail: string | undefined, wasPublishing: boolean): void {
    const fields = { reason, detail, bytesReceived: this.#bytesIn };
    if (reason === 'protocol-error' || reason === 'timeout') this.log.warn(fields, 'connection closed');
    else if (wasPublishing || reason === 'refused' || reason === 'kicked')
      this.log.info(fields, 'connection closed');
    else this.log.debug(fields, 'connection closed');
  }

  #onClose(): void {
    this.close('disconnected');
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#state = 'closed';
    this.#host.closed(this);
  }
}
