/**
 * The RTMP chunk stream: messages are cut into chunks (128 bytes until a Set
 * Chunk Size), chunks of several chunk streams interleave, and headers are
 * compressed against the previous message of the same chunk stream (fmt 0-3).
 */
import { AppError } from '@wavecast/kit/errors';
import { Slab } from '../slab.ts';

export interface RtmpMessage {
  /** Chunk stream id the message travelled on. */
  csid: number;
  typeId: number;
  /** Message stream id (0 for NetConnection, the createStream result for NetStream). */
  streamId: number;
  /** Milliseconds, 32-bit, wrapping. */
  timestamp: number;
  payload: Buffer;
  /**
   * The payload's own allocation: `payload` with FRAME_HEAD bytes before it and FRAME_TAIL after,
   * free for the FLV tag header and trailer, so a media message becomes a tag without a copy.
   */
  frame: Buffer;
}

/** Room around each message body for an FLV tag header (11 bytes) and PreviousTagSize (4). */
export const FRAME_HEAD = 11;
export const FRAME_TAIL = 4;

export const DEFAULT_CHUNK_SIZE = 128;
const MAX_CHUNK_SIZE = 0x7fffffff;
const EXTENDED = 0xffffff;
const TYPE_SET_CHUNK_SIZE = 1;
const TYPE_ABORT = 2;
/** Legitimate encoders use a handful (2, 3, 4, 5, 6, 8); state per chunk stream is what is bounded. */
const MAX_CHUNK_STREAMS = 64;
/** Basic header (3) + message header (11) + extended timestamp (4). */
const MAX_HEADER_BYTES = 18;
const EMPTY = Buffer.alloc(0);

export function protocolError(message: string): AppError {
  return new AppError('invalid_argument', message);
}

interface ChunkStream {
  csid: number;
  /** Absolute timestamp of the current (or last) message. */
  timestamp: number;
  /** Last timestamp field: a delta, or the absolute time after fmt 0 (reused by fmt 3). */
  delta: number;
  length: number;
  typeId: number;
  streamId: number;
  /** The last fmt 0-2 header carried an extended timestamp, so fmt 3 chunks carry it too. */
  extended: boolean;
  extendedValue: number;
  /** Message being reassembled, allocated at its first chunk (a view of `frame`). */
  body: Buffer | undefined;
  frame: Buffer | undefined;
  received: number;
}

export interface ChunkReaderOptions {
  /** Larger messages are protocol errors, refused at their header before anything is buffered. */
  maxMessageBytes: number;
  /** Bound on partially received messages across all chunk streams; default twice maxMessageBytes. */
  maxBufferedBytes?: number;
}

/**
 * Incremental chunk parser. `push` takes bytes as they arrive and returns the
 * messages they complete. Set Chunk Size and Abort are applied here, at the exact
 * point in the byte stream where they arrive, and not returned. Chunk data is
 * consumed as soon as it arrives, so the only bytes held between calls are a
 * partial header (< 18 bytes) and the partial messages (bounded).
 */
export class ChunkReader {
  #chunkSize = DEFAULT_CHUNK_SIZE;
  #streams = new Map<number, ChunkStream>();
  #pending: Buffer = EMPTY;
  /** Chunk whose data is being read, and how much of it is left. */
  #current: ChunkStream | undefined;
  #remaining = 0;
  #buffered = 0;
  /** Message bodies: a 3 Mb/s publisher sends ~75 a second, each gone once ffmpeg has it. */
  readonly #slab = new Slab(256 * 1024);
  readonly #maxMessageBytes: number;
  readonly #maxBufferedBytes: number;

  constructor(opts: ChunkReaderOptions) {
    this.#maxMessageBytes = opts.maxMessageBytes;
    this.#maxBufferedBytes = opts.maxBufferedBytes ?? opts.maxMessageBytes * 2;
  }

  /** Chunk size the peer currently sends with. */
  get chunkSize(): number {
    return this.#chunkSize;
  }

  push(data: Buffer): RtmpMessage[] {
    const out: RtmpMessage[] = [];
    const buf = data;
    let pos = 0;
    if (this.#pending.length > 0) {
      // Complete the partial header with just the bytes it needs; never copy the whole read.
      const joined = Buffer.concat([this.#pending, data.subarray(0, MAX_HEADER_BYTES)]);
      const next = this.#readHeader(joined, 0);
      if (next < 0) {
        this.#pending = joined;
        return out;
      }
      this.#pending = EMPTY;
      pos = next - (joined.length - Math.min(data.length, MAX_HEADER_BYTES));
    }
    for (;;) {
      if (this.#current === undefined) {
        const next = this.#readHeader(buf, pos);
        if (next < 0) break;
        pos = next;
      }
      const stream = this.#current!;
      const take = Math.min(this.#remaining, buf.length - pos);
      buf.copy(stream.body!, stream.received, pos, pos + take);
      stream.received += take;
      this.#remaining -= take;
      pos += take;
      if (this.#remaining > 0) break;
      this.#current = undefined;
      if (stream.received === stream.length) this.#complete(stream, out);
    }
    // Copy the few leftover bytes (a partial header) so the (large) socket buffer is not retained.
    this.#pending = pos < buf.length ? Buffer.from(buf.subarray(pos)) : EMPTY;
    return out;
  }

  /** Parses one chunk header at `pos`; returns the offset after it, or -1 when more bytes are needed. */
  #readHeader(buf: Buffer, pos: number): number {
    // Nothing is changed until the whole header has arrived, so an incomplete one is simply re-read.
    let p = pos;
    if (p >= buf.length) return -1;
    const first = buf[p++]!;
    const fmt = first >> 6;
    let csid = first & 0x3f;
    if (csid === 0) {
      if (p + 1 > buf.length) return -1;
      csid = 64 + buf[p++]!;
    } else if (csid === 1) {
      if (p + 2 > buf.length) return -1;
      csid = 64 + buf[p]! + buf[p + 1]! * 256;
      p += 2;
    }
    const headerLength = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0;
    if (p + headerLength > buf.length) return -1;
    const known = this.#streams.get(csid);
    if (known === undefined && fmt !== 0) {
      throw protocolError(`chunk stream ${csid} starts with a fmt ${fmt} header`);
    }
    const inMessage = known?.body !== undefined;
    if (inMessage && fmt !== 3) throw protocolError(`chunk stream ${csid}: new header inside a message`);

    const field = fmt <= 2 ? buf.readUIntBE(p, 3) : 0;
    const length = fmt <= 1 ? buf.readUIntBE(p + 3, 3) : undefined;
    const typeId = fmt <= 1 ? buf[p + 6]! : undefined;
    const streamId = fmt === 0 ? buf.readUInt32LE(p + 7) : undefined;
    p += headerLength;

    let extended = known?.extended ?? false;
    let timeField = field;
    if (fmt <= 2) {
      extended = field === EXTENDED;
      if (extended) {
        if (p + 4 > buf.length) return -1;
        timeField = buf.readUInt32BE(p);
        p += 4;
      }
    } else if (extended) {
      if (p + 4 > buf.length) return -1;
      timeField = buf.readUInt32BE(p);
      // Continuation chunks repeat the extended timestamp (ffmpeg, librtmp, the spec); some
      // encoders omit it, and then these bytes are payload.
      if (!inMessage || timeField === known!.extendedValue) p += 4;
    }

    if (known === undefined && this.#streams.size >= MAX_CHUNK_STREAMS) {
      throw protocolError('too many chunk streams');
    }
    const stream: ChunkStream = known ?? {
      csid,
      timestamp: 0,
      delta: 0,
      length: 0,
      typeId: 0,
      streamId: 0,
      extended: false,
      extendedValue: 0,
      body: undefined,
      frame: undefined,
      received: 0,
    };
    this.#streams.set(csid, stream);
    if (!inMessage) {
      if (length !== undefined) stream.length = length;
      if (typeId !== undefined) stream.typeId = typeId;
      if (streamId !== undefined) stream.streamId = streamId;
      stream.extended = extended;
      if (extended) stream.extendedValue = timeField;
      if (fmt === 0) {
        stream.timestamp = timeField;
        stream.delta = timeField;
      } else {
        // After fmt 0, a fmt 3 message reuses the absolute time as its delta (RTMP spec 5.3.1.2.4).
        const delta = fmt === 3 ? stream.delta : timeField;
        stream.timestamp = (stream.timestamp + delta) >>> 0;
        stream.delta = delta;
      }
      this.#startMessage(stream);
    }
    this.#current = stream;
    this.#remaining = Math.min(this.#chunkSize, stream.length - stream.received);
    return p;
  }

  #startMessage(stream: ChunkStream): void {
    if (stream.length > this.#maxMessageBytes) {
      throw protocolError(`message of ${stream.length} bytes exceeds ${this.#maxMessageBytes}`);
    }
    if (this.#buffered + stream.length > this.#maxBufferedBytes) {
      throw protocolError('too many bytes in partially received messages');
    }
    this.#buffered += stream.length;
    stream.frame = this.#slab.alloc(FRAME_HEAD + stream.length + FRAME_TAIL);
    stream.frame.fill(0, 0, FRAME_HEAD).fill(0, FRAME_HEAD + stream.length); // no stale memory
    stream.body = stream.frame.subarray(FRAME_HEAD, FRAME_HEAD + stream.length);
    stream.received = 0;
  }

  #complete(stream: ChunkStream, out: RtmpMessage[]): void {
    const payload = stream.body!;
    const frame = stream.frame!;
    stream.body = undefined;
    stream.frame = undefined;
    this.#buffered -= stream.length;
    if (stream.typeId === TYPE_SET_CHUNK_SIZE) {
      if (payload.length < 4) throw protocolError('short Set Chunk Size');
      const size = payload.readUInt32BE(0);
      if (size < 1 || size > MAX_CHUNK_SIZE) throw protocolError(`invalid chunk size ${size}`);
      this.#chunkSize = size;
    } else if (stream.typeId === TYPE_ABORT) {
      if (payload.length < 4) throw protocolError('short Abort message');
      const aborted = this.#streams.get(payload.readUInt32BE(0));
      if (aborted?.body !== undefined) {
        this.#buffered -= aborted.length;
        aborted.body = undefined;
        aborted.frame = undefined;
      }
    } else {
      out.push({
        csid: stream.csid,
        typeId: stream.typeId,
        streamId: stream.streamId,
        timestamp: stream.timestamp,
        payload,
        frame,
      });
    }
  }
}

export interface OutgoingMessage {
  csid: number;
  typeId: number;
  streamId: number;
  timestamp: number;
  payload: Buffer;
}

function basicHeader(fmt: number, csid: number): Buffer {
  if (csid >= 2 && csid <= 63) return Buffer.of((fmt << 6) | csid);
  if (csid >= 64 && csid <= 319) return Buffer.of(fmt << 6, csid - 64);
  if (csid >= 320 && csid <= 65599) return Buffer.of((fmt << 6) | 1, (csid - 64) & 0xff, (csid - 64) >> 8);
  throw new RangeError(`invalid chunk stream id ${csid}`);
}

/**
 * Cuts outgoing messages into chunks: a fmt 0 header, then fmt 3 continuations.
 * Our messages are few and small, so header compression is not worth its state.
 */
export class ChunkWriter {
  chunkSize = DEFAULT_CHUNK_SIZE;

  encode(msg: OutgoingMessage): Buffer {
    const extended = msg.timestamp >= EXTENDED;
    const header = Buffer.alloc(11);
    header.writeUIntBE(extended ? EXTENDED : msg.timestamp, 0, 3);
    header.writeUIntBE(msg.payload.length, 3, 3);
    header[6] = msg.typeId;
    header.writeUInt32LE(msg.streamId, 7);
    const ext = Buffer.alloc(extended ? 4 : 0);
    if (extended) ext.writeUInt32BE(msg.timestamp >>> 0);
    const parts: Buffer[] = [basicHeader(0, msg.csid), header, ext];
    const continuation = Buffer.concat([basicHeader(3, msg.csid), ext]);
    for (let at = 0; at < msg.payload.length || at === 0; at += this.chunkSize) {
      if (at > 0) parts.push(continuation);
      parts.push(msg.payload.subarray(at, at + this.chunkSize));
      if (msg.payload.length === 0) break;
    }
    return Buffer.concat(parts);
  }
}
