/**
 * Splits an FLV byte stream into tags, whatever the chunk boundaries, and
 * classifies the tags a live transcoder needs to know about: the stream
 * header, script data, decoder configuration ("sequence headers") and video
 * keyframes, for both legacy FLV and Enhanced RTMP video tags.
 */
export interface FlvTag {
  type: 'audio' | 'video' | 'script';
  /** Milliseconds. */
  timestamp: number;
  /** The tag payload. */
  data: Buffer;
  /** The whole tag as it appeared in the stream, with its trailing PreviousTagSize (a view of the chunk). */
  raw: Buffer;
}

const TAG_TYPES: Record<number, FlvTag['type']> = { 8: 'audio', 9: 'video', 18: 'script' };
const MAX_TAG_BYTES = 16 * 1024 * 1024;

export class FlvReader {
  #buffer: Buffer = Buffer.alloc(0);
  #header: Buffer | undefined;

  /** The 9-byte FLV header plus PreviousTagSize0, once seen. */
  get header(): Buffer | undefined {
    return this.#header;
  }

  /** Adds bytes; returns the complete tags now available. Throws on a malformed stream. */
  push(chunk: Buffer): FlvTag[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const tags: FlvTag[] = [];
    if (!this.#header) {
      if (this.#buffer.length < 13) return tags;
      if (this.#buffer.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV stream');
      const headerSize = this.#buffer.readUInt32BE(5);
      if (headerSize < 9 || headerSize > 1024) throw new Error('bad FLV header size');
      if (this.#buffer.length < headerSize + 4) return tags;
      this.#header = Buffer.from(this.#buffer.subarray(0, headerSize + 4));
      this.#buffer = this.#buffer.subarray(headerSize + 4);
    }
    let offset = 0;
    while (this.#buffer.length - offset >= 11) {
      const typeByte = this.#buffer[offset]! & 0x1f;
      const size = this.#buffer.readUIntBE(offset + 1, 3);
      if (size > MAX_TAG_BYTES) throw new Error(`FLV tag of ${size} bytes is too large`);
      const total = 11 + size + 4;
      if (this.#buffer.length - offset < total) break;
      const timestamp = (this.#buffer.readUIntBE(offset + 4, 3) | (this.#buffer[offset + 7]! << 24)) >>> 0;
      const type = TAG_TYPES[typeByte];
      if (type) {
        // A view, not a copy: chunks are not reused; whoever keeps a tag for long copies it (FlvPrimer).
        const raw = this.#buffer.subarray(offset, offset + total);
        tags.push({ type, timestamp, data: raw.subarray(11, 11 + size), raw });
      }
      offset += total;
    }
    this.#buffer = this.#buffer.subarray(offset);
    return tags;
  }
}

/** Enhanced RTMP sets the top bit of the first video byte. */
const isExVideo = (data: Buffer) => (data[0]! & 0x80) !== 0;

/** A video tag carrying decoder configuration (AVC sequence header or E-RTMP SequenceStart). */
export function isVideoConfig(tag: FlvTag): boolean {
  if (tag.type !== 'video' || tag.data.length < 2) return false;
  if (isExVideo(tag.data)) return (tag.data[0]! & 0x0f) === 0;
  const codec = tag.data[0]! & 0x0f;
  return (codec === 7 || codec === 12) && tag.data[1] === 0;
}

/** An audio tag carrying decoder configuration (AAC sequence header). */
export function isAudioConfig(tag: FlvTag): boolean {
  return tag.type === 'audio' && tag.data.length >= 2 && tag.data[0]! >> 4 === 10 && tag.data[1] === 0;
}

/** A video frame that decoding can start from. */
export function isKeyframe(tag: FlvTag): boolean {
  if (tag.type !== 'video' || tag.data.length < 1 || isVideoConfig(tag)) return false;
  const frameType = isExVideo(tag.data) ? (tag.data[0]! >> 4) & 0x07 : tag.data[0]! >> 4;
  return frameType === 1;
}

/** The AVCDecoderConfigurationRecord of a legacy AVC sequence header, if that is what the tag is. */
export function avcConfig(tag: FlvTag): Buffer | undefined {
  if (!isVideoConfig(tag) || isExVideo(tag.data) || (tag.data[0]! & 0x0f) !== 7) return undefined;
  return tag.data.subarray(5);
}
