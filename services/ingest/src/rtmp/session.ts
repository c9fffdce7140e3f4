/**
 * The consumer's side of one accepted publish: an FLV byte stream with
 * backpressure, and a promise that says when and why the publisher went away.
 */
import { Readable } from 'node:stream';
import { encodeFlvTag, type FlvTag, flvHeader } from './flv.ts';
import type { EndReason, PublishRequest, PublishSession, SessionEnd } from './types.ts';

/** FLV bytes buffered for a slow consumer before the socket is paused. */
export const FLV_HIGH_WATER_MARK = 1024 * 1024;

/** What the session needs from the connection that feeds it. */
export interface SessionTransport {
  /** The consumer wants more: start reading the socket again. */
  resume(): void;
  /** Close the connection; the consumer kicked the publisher or dropped the stream. */
  kick(reason: string): void;
  bytesReceived(): number;
}

export class RtmpPublishSession implements PublishSession {
  readonly id: string;
  readonly request: PublishRequest;
  readonly flv: Readable;
  readonly ended: Promise<SessionEnd>;
  readonly #transport: SessionTransport;
  #resolveEnded!: (end: SessionEnd) => void;
  #done = false;

  constructor(id: string, request: PublishRequest, transport: SessionTransport) {
    this.id = id;
    this.request = request;
    this.#transport = transport;
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    this.flv = new Readable({
      highWaterMark: FLV_HIGH_WATER_MARK,
      read: () => transport.resume(),
      destroy: (err, callback) => {
        // A consumer that destroys the stream (its ffmpeg died) no longer wants the publisher.
        if (!this.#done) transport.kick('FLV stream destroyed by its consumer');
        callback(err);
      },
    });
    this.flv.push(flvHeader());
  }

  get bytesReceived(): number {
    return this.#transport.bytesReceived();
  }

  close(reason: string): void {
    if (!this.#done) this.#transport.kick(reason);
  }

  /** Queues one tag; false means "stop reading the socket until `resume`". */
  write(tag: FlvTag): boolean {
    if (this.#done || this.flv.destroyed) return true;
    return this.flv.push(encodeFlvTag(tag));
  }

  /** The publisher is gone: end the FLV stream (after what is buffered) and resolve `ended`. */
  end(reason: EndReason, error?: string): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.flv.destroyed) this.flv.push(null);
    this.#resolveEnded(error === undefined ? { reason } : { reason, error });
  }
}
