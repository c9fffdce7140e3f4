/**
 * RTMP handshake, server side: C0+C1 -> S0+S1+S2, then C2.
 *
 * We always answer with a simple handshake: S1 has zero version bytes, S2 echoes
 * C1. Clients that send the digest-based ("complex", Flash Player 9) C1 accept
 * it: ffmpeg and librtmp (OBS) only verify the server digest when S1 announces a
 * version, and even then only when playing. Encrypted RTMPE (C0 = 6 or 8) is refused.
 */
import { randomBytes } from 'node:crypto';
import { protocolError } from './chunk-stream.ts';

export const RTMP_VERSION = 3;
export const HANDSHAKE_SIZE = 1536;

export type HandshakeStep =
  | { done: false; reply?: Buffer }
  | { done: true; reply?: Buffer /** Bytes after C2: the first chunks. */; rest: Buffer };

/** True when C1 carries a version (bytes 4-7), as the digest-based handshake does. */
export function isDigestC1(c1: Buffer): boolean {
  return c1.readUInt32BE(4) !== 0;
}

/** S0+S1+S2 for a C1. */
export function serverHello(c1: Buffer, uptimeMs: number): Buffer {
  const s0s1s2 = Buffer.alloc(1 + 2 * HANDSHAKE_SIZE);
  s0s1s2[0] = RTMP_VERSION;
  s0s1s2.writeUInt32BE(uptimeMs >>> 0, 1);
  // bytes 5-8 stay zero: "simple handshake, no digest"
  randomBytes(HANDSHAKE_SIZE - 8).copy(s0s1s2, 9);
  c1.copy(s0s1s2, 1 + HANDSHAKE_SIZE);
  return s0s1s2;
}

/**
 * Feeds handshake bytes in any split. Throws on anything that is not RTMP, as
 * soon as the first byte shows it, so garbage is refused without waiting.
 */
export class ServerHandshake {
  #buf: Buffer = Buffer.alloc(0);
  #phase: 'c0c1' | 'c2' = 'c0c1';
  readonly #startedAt = Date.now();
  /** Set once C1 arrived. */
  digest = false;

  push(data: Buffer): HandshakeStep {
    this.#buf = this.#buf.length > 0 ? Buffer.concat([this.#buf, data]) : data;
    let reply: Buffer | undefined;
    if (this.#phase === 'c0c1') {
      if (this.#buf.length >= 1 && this.#buf[0] !== RTMP_VERSION) {
        throw protocolError(`not an RTMP handshake (version byte 0x${this.#buf[0]!.toString(16)})`);
      }
      if (this.#buf.length < 1 + HANDSHAKE_SIZE) return { done: false };
      const c1 = this.#buf.subarray(1, 1 + HANDSHAKE_SIZE);
      this.digest = isDigestC1(c1);
      reply = serverHello(c1, Date.now() - this.#startedAt);
      this.#buf = this.#buf.subarray(1 + HANDSHAKE_SIZE);
      this.#phase = 'c2';
    }
    // C2 should echo S1, but clients differ (ffmpeg echoes, others send C1 again): its content is not checked.
    if (this.#buf.length < HANDSHAKE_SIZE) return reply ? { done: false, reply } : { done: false };
    const rest = this.#buf.subarray(HANDSHAKE_SIZE);
    this.#buf = Buffer.alloc(0);
    return reply ? { done: true, reply, rest } : { done: true, rest };
  }
}
