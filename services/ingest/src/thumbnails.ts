/**
 * The JPEG of a live channel. The stream's own ffmpeg renders one every
 * `LIVE_THUMBNAIL_SECONDS` on an extra pipe (transcode/ffmpeg-args.ts): no
 * process is started per thumbnail, and with passthrough only that ffmpeg
 * decodes keyframes alone. This side splits the pipe into pictures and keeps
 * the newest.
 */
import type { Readable } from 'node:stream';
import type { Logger } from '@wavecast/kit/log';

/** A picture larger than this is not a thumbnail: the splitter starts over. */
const MAX_JPEG_BYTES = 4 * 1024 * 1024;

/**
 * Splits concatenated JPEGs (ffmpeg's `image2pipe` of `mjpeg`), whatever the
 * chunk boundaries, by walking the markers: segments carry their length, and
 * in entropy-coded data a marker is 0xFF followed by anything but 0x00 or RSTn.
 */
export class JpegSplitter {
  #chunks: Buffer[] = [];
  #size = 0;

  /** Adds bytes; returns the pictures they complete. */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      const buf = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
      this.#chunks = buf.length > 0 ? [buf] : [];
      const end = jpegEnd(buf);
      if (end === 'invalid' || (end === undefined && buf.length > MAX_JPEG_BYTES)) {
        this.#chunks = [];
        this.#size = 0;
        return out;
      }
      if (end === undefined) return out;
      out.push(Buffer.from(buf.subarray(0, end)));
      this.#chunks = end < buf.length ? [buf.subarray(end)] : [];
      this.#size = buf.length - end;
    }
  }
}

/** Offset just past the EOI of the JPEG at the start of `buf`; undefined if incomplete. */
function jpegEnd(buf: Buffer): number | 'invalid' | undefined {
  if (buf.length < 2) return undefined;
  if (buf[0] !== 0xff || buf[1] !== 0xd8) return 'invalid';
  let p = 2;
  for (;;) {
    if (p + 2 > buf.length) return undefined;
    if (buf[p] !== 0xff) return 'invalid';
    const marker = buf[p + 1]!;
    if (marker === 0xd9) return p + 2;
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (p + 4 > buf.length) return undefined;
    p += 2 + buf.readUInt16BE(p + 2);
    if (marker !== 0xda) continue;
    // Entropy-coded data after the scan header: up to the next real marker.
    for (;;) {
      const ff = buf.indexOf(0xff, p);
      if (ff < 0 || ff + 1 >= buf.length) return undefined;
      const next = buf[ff + 1]!;
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) p = ff + 2;
      else {
        p = ff;
        break;
      }
    }
  }
}

export class Thumbnailer {
  readonly #log: Logger;
  #source: Readable | undefined;
  jpeg: Buffer | undefined;
  /** Bumped on every new JPEG, so its URL changes and caches stay right. */
  version = 0;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Takes pictures from this stream (a new ffmpeg's) from now on. */
  follow(source: Readable): void {
    this.#source = source;
    const splitter = new JpegSplitter();
    source.on('data', (chunk: Buffer) => {
      if (this.#source !== source) return;
      for (const jpeg of splitter.push(chunk)) {
        this.jpeg = jpeg;
        this.version++;
      }
    });
    source.on('error', (err) => this.#log.debug({ err }, 'thumbnail pipe failed'));
  }
}
