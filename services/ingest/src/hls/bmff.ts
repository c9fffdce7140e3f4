/**
 * Reading ISO-BMFF (MP4) boxes held whole in memory: child iteration with
 * bounds checks, and a cursor whose reads never leave the box they belong to.
 * Malformed input throws `BoxError`; nothing here trusts a size field.
 */

export class BoxError extends Error {
  override readonly name = 'BoxError';
}

export interface Box {
  type: string;
  /** Offset of the box's first byte (its size field). */
  start: number;
  /** Offset of the first byte after the header. */
  body: number;
  /** Offset of the first byte after the box. */
  end: number;
}

/** Reads the header at `offset`; undefined when fewer than the header's bytes are present. */
export function readHeader(
  buf: Uint8Array,
  offset: number,
  end: number,
): { type: string; size: number; headerSize: number } | undefined {
  if (end - offset < 8) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset + offset, end - offset);
  const size32 = view.getUint32(0);
  const type = String.fromCharCode(buf[offset + 4]!, buf[offset + 5]!, buf[offset + 6]!, buf[offset + 7]!);
  if (size32 !== 1) return { type, size: size32, headerSize: 8 };
  if (end - offset < 16) return undefined;
  const size = Number(view.getBigUint64(8));
  if (!Number.isSafeInteger(size)) throw new BoxError(`${type} box size out of range`);
  return { type, size, headerSize: 16 };
}

/** The boxes directly inside `[start, end)` of `buf`. */
export function* children(buf: Uint8Array, start: number, end: number): Generator<Box> {
  let offset = start;
  while (offset < end) {
    const header = readHeader(buf, offset, end);
    if (!header) throw new BoxError(`truncated box header at ${offset}`);
    const size = header.size === 0 ? end - offset : header.size;
    if (size < header.headerSize || offset + size > end) {
      throw new BoxError(`${JSON.stringify(header.type)} box has an invalid size ${header.size}`);
    }
    yield { type: header.type, start: offset, body: offset + header.headerSize, end: offset + size };
    offset += size;
  }
}

export function child(buf: Uint8Array, parent: Box, type: string, skip = 0): Box | undefined {
  for (const box of children(buf, parent.body + skip, parent.end)) if (box.type === type) return box;
  return undefined;
}

export function childrenOf(buf: Uint8Array, parent: Box, type: string): Box[] {
  return [...children(buf, parent.body, parent.end)].filter((box) => box.type === type);
}

/** Sequential big-endian reads confined to one box (or any byte range). */
export class Cursor {
  readonly buf: Uint8Array;
  readonly end: number;
  pos: number;
  readonly #view: DataView;

  constructor(buf: Uint8Array, start: number, end: number) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** A cursor over a full box's body (version/flags not consumed). */
  static of(buf: Uint8Array, box: Box): Cursor {
    return new Cursor(buf, box.body, box.end);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  #take(n: number): number {
    if (this.pos + n > this.end) throw new BoxError(`read past the end of a box (${n} bytes at ${this.pos})`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  skip(n: number): this {
    this.#take(n);
    return this;
  }

  u8(): number {
    return this.#view.getUint8(this.#take(1));
  }

  u16(): number {
    return this.#view.getUint16(this.#take(2));
  }

  u32(): number {
    return this.#view.getUint32(this.#take(4));
  }

  i32(): number {
    return this.#view.getInt32(this.#take(4));
  }

  u64(): number {
    const value = Number(this.#view.getBigUint64(this.#take(8)));
    if (!Number.isSafeInteger(value)) throw new BoxError('64-bit value out of range');
    return value;
  }

  bytes(n: number): Uint8Array {
    const at = this.#take(n);
    return this.buf.subarray(at, at + n);
  }

  /** Version and flags of a full box. */
  fullBox(): { version: number; flags: number } {
    const word = this.u32();
    return { version: word >>> 24, flags: word & 0xffffff };
  }
}
