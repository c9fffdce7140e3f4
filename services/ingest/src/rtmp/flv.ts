/**
 * FLV, the container RTMP media maps onto one to one: an RTMP audio, video or
 * data message is an FLV tag body. Tag bodies are copied, never interpreted, so
 * codecs we do not know (Enhanced RTMP's HEVC/AV1 FourCC video) pass through.
 */
import { decodeAmf0Value } from './amf0.ts';
import { protocolError } from './chunk-stream.ts';

export const FlvTagType = { Audio: 8, Video: 9, Script: 18 } as const;
export type FlvTagType = (typeof FlvTagType)[keyof typeof FlvTagType];

export interface FlvTag {
  type: number;
  /** Milliseconds, 32-bit. */
  timestamp: number;
  data: Buffer;
  /** `data`'s own allocation with room for the tag header before and PreviousTagSize after (see RtmpMessage). */
  frame?: Buffer;
}

const TAG_HEADER_SIZE = 11;
const MAX_TAG_DATA = 0xffffff;

/** FLV header announcing audio and video, followed by PreviousTagSize0. */
export function flvHeader(): Buffer {
  return Buffer.of(0x46, 0x4c, 0x56, 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0);
}

/** One tag with its trailing PreviousTagSize: written around the data in place when it has a frame. */
export function encodeFlvTag(tag: FlvTag): Buffer {
  if (tag.data.length > MAX_TAG_DATA) throw new RangeError('FLV tag data over 16 MiB');
  const size = TAG_HEADER_SIZE + tag.data.length + 4;
  const framed =
    tag.frame !== undefined &&
    tag.frame.length === size &&
    tag.frame.buffer === tag.data.buffer &&
    tag.frame.byteOffset + TAG_HEADER_SIZE === tag.data.byteOffset;
  const out = framed ? tag.frame! : Buffer.allocUnsafe(size);
  out[0] = tag.type;
  out.writeUIntBE(tag.data.length, 1, 3);
  out.writeUIntBE(tag.timestamp & 0xffffff, 4, 3);
  out[7] = (tag.timestamp >>> 24) & 0xff;
  out.writeUIntBE(0, 8, 3);
  if (!framed) tag.data.copy(out, TAG_HEADER_SIZE);
  out.writeUInt32BE(TAG_HEADER_SIZE + tag.data.length, TAG_HEADER_SIZE + tag.data.length);
  return out;
}

function readTag(buf: Buffer, at: number): { tag: FlvTag; next: number } | undefined {
  if (buf.length - at < TAG_HEADER_SIZE) return undefined;
  const size = buf.readUIntBE(at + 1, 3);
  const end = at + TAG_HEADER_SIZE + size + 4;
  if (buf.length < end) return undefined;
  const timestamp = (buf.readUIntBE(at + 4, 3) | (buf[at + 7]! << 24)) >>> 0;
  const data = buf.subarray(at + TAG_HEADER_SIZE, at + TAG_HEADER_SIZE + size);
  return { tag: { type: buf[at]! & 0x1f, timestamp, data }, next: end };
}

/**
 * Splits an RTMP aggregate message (a run of FLV tags) into tags. Their
 * timestamps are rebased on the aggregate's own: the first sub-tag gets it.
 */
export function splitAggregate(payload: Buffer, timestamp: number): FlvTag[] {
  const tags: FlvTag[] = [];
  let at = 0;
  let base: number | undefined;
  while (at < payload.length) {
    const read = readTag(payload, at);
    if (read === undefined) throw protocolError('truncated tag in an aggregate message');
    base ??= read.tag.timestamp;
    tags.push({ ...read.tag, timestamp: (timestamp + read.tag.timestamp - base) >>> 0 });
    at = read.next;
  }
  return tags;
}

/**
 * The script tag body for an AMF0 data message: `@setDataFrame` (what an
 * encoder sends to say "store this with the stream") is stripped, leaving
 * e.g. `onMetaData, {…}`, byte for byte. Returns undefined for messages that are
 * not stream data (`@clearDataFrame`, or not starting with a name).
 */
export function scriptTagBody(payload: Buffer): Buffer | undefined {
  const first = decodeAmf0Value(payload);
  if (typeof first.value !== 'string') return undefined;
  if (first.value === '@setDataFrame') {
    const rest = payload.subarray(first.offset);
    return rest.length > 0 && typeof decodeAmf0Value(rest).value === 'string' ? rest : undefined;
  }
  if (first.value.startsWith('@')) return undefined;
  return payload;
}

/** Incremental FLV reader (tests, and anyone consuming `PublishSession.flv`). */
export class FlvReader {
  #buf: Buffer = Buffer.alloc(0);
  #headerSeen = false;

  push(data: Buffer): FlvTag[] {
    this.#buf = this.#buf.length > 0 ? Buffer.concat([this.#buf, data]) : data;
    let at = 0;
    if (!this.#headerSeen) {
      if (this.#buf.length < 13) return [];
      if (this.#buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV stream');
      at = this.#buf.readUInt32BE(5) + 4;
      if (this.#buf.length < at) return [];
      this.#headerSeen = true;
    }
    const tags: FlvTag[] = [];
    for (let read = readTag(this.#buf, at); read; read = readTag(this.#buf, at)) {
      tags.push({ ...read.tag, data: Buffer.from(read.tag.data) });
      at = read.next;
    }
    this.#buf = Buffer.from(this.#buf.subarray(at));
    return tags;
  }

  get headerSeen(): boolean {
    return this.#headerSeen;
  }
}
