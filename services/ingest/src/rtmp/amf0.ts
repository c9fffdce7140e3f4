/**
 * AMF0 (Action Message Format 0), the encoding of RTMP commands and FLV script data.
 * Decoding is defensive: it reads attacker-controlled bytes, so every length is
 * checked against what is left, nesting is bounded, and objects have no prototype
 * (a `__proto__` key is just a key).
 */
import { AppError } from '@wavecast/kit/errors';

export type Amf0Value = number | boolean | string | null | undefined | Date | Amf0Value[] | Amf0Object;
export interface Amf0Object {
  [key: string]: Amf0Value;
}

export const Amf0Marker = {
  Number: 0x00,
  Boolean: 0x01,
  String: 0x02,
  Object: 0x03,
  Null: 0x05,
  Undefined: 0x06,
  Reference: 0x07,
  EcmaArray: 0x08,
  ObjectEnd: 0x09,
  StrictArray: 0x0a,
  Date: 0x0b,
  LongString: 0x0c,
  Unsupported: 0x0d,
  XmlDocument: 0x0f,
  TypedObject: 0x10,
  AvmPlus: 0x11,
} as const;

const MAX_DEPTH = 32;

function malformed(message: string): AppError {
  return new AppError('invalid_argument', `malformed AMF0: ${message}`);
}

class Cursor {
  offset: number;
  readonly buf: Buffer;
  constructor(buf: Buffer, offset: number) {
    this.buf = buf;
    this.offset = offset;
  }
  take(n: number): number {
    if (this.offset + n > this.buf.length) throw malformed('truncated value');
    const at = this.offset;
    this.offset += n;
    return at;
  }
  u8(): number {
    return this.buf.readUInt8(this.take(1));
  }
  u16(): number {
    return this.buf.readUInt16BE(this.take(2));
  }
  u32(): number {
    return this.buf.readUInt32BE(this.take(4));
  }
  double(): number {
    return this.buf.readDoubleBE(this.take(8));
  }
  utf8(length: number): string {
    const at = this.take(length);
    return this.buf.toString('utf8', at, at + length);
  }
}

function readProperties(c: Cursor, depth: number): Amf0Object {
  const obj: Amf0Object = Object.create(null);
  for (;;) {
    const key = c.utf8(c.u16());
    if (key === '' && c.buf[c.offset] === Amf0Marker.ObjectEnd) {
      c.offset += 1;
      return obj;
    }
    obj[key] = readValue(c, depth + 1);
  }
}

function readValue(c: Cursor, depth: number): Amf0Value {
  if (depth > MAX_DEPTH) throw malformed('nested too deeply');
  const marker = c.u8();
  switch (marker) {
    case Amf0Marker.Number:
      return c.double();
    case Amf0Marker.Boolean:
      return c.u8() !== 0;
    case Amf0Marker.String:
      return c.utf8(c.u16());
    case Amf0Marker.LongString:
    case Amf0Marker.XmlDocument:
      return c.utf8(c.u32());
    case Amf0Marker.Object:
      return readProperties(c, depth);
    case Amf0Marker.TypedObject:
      c.utf8(c.u16()); // the class name says nothing we use
      return readProperties(c, depth);
    case Amf0Marker.EcmaArray:
      c.u32(); // the count is only a hint; the end marker terminates the list
      return readProperties(c, depth);
    case Amf0Marker.StrictArray: {
      const count = c.u32();
      // Every value takes at least one byte: a larger count is a lie, refuse it before allocating.
      if (count > c.buf.length - c.offset) throw malformed('array count exceeds the message');
      const items: Amf0Value[] = [];
      for (let i = 0; i < count; i++) items.push(readValue(c, depth + 1));
      return items;
    }
    case Amf0Marker.Date: {
      const ms = c.double();
      c.u16(); // time zone, reserved
      return new Date(ms);
    }
    case Amf0Marker.Null:
      return null;
    case Amf0Marker.Undefined:
    case Amf0Marker.Unsupported:
      return undefined;
    default:
      throw malformed(`unsupported marker 0x${marker.toString(16).padStart(2, '0')}`);
  }
}

/** Decodes one value at `offset`; returns it and the offset after it. */
export function decodeAmf0Value(buf: Buffer, offset = 0): { value: Amf0Value; offset: number } {
  const c = new Cursor(buf, offset);
  const value = readValue(c, 0);
  return { value, offset: c.offset };
}

/** Decodes every value in `buf` (a command or data message body). */
export function decodeAmf0(buf: Buffer): Amf0Value[] {
  const values: Amf0Value[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const next = decodeAmf0Value(buf, offset);
    values.push(next.value);
    offset = next.offset;
  }
  return values;
}

function stringBody(value: string, parts: Buffer[]): void {
  const bytes = Buffer.from(value, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.length);
  parts.push(len, bytes);
}

function writeValue(value: Amf0Value, parts: Buffer[]): void {
  if (value === null) {
    parts.push(Buffer.of(Amf0Marker.Null));
  } else if (value === undefined) {
    parts.push(Buffer.of(Amf0Marker.Undefined));
  } else if (typeof value === 'number') {
    const b = Buffer.alloc(9);
    b[0] = Amf0Marker.Number;
    b.writeDoubleBE(value, 1);
    parts.push(b);
  } else if (typeof value === 'boolean') {
    parts.push(Buffer.of(Amf0Marker.Boolean, value ? 1 : 0));
  } else if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > 0xffff) {
      const head = Buffer.alloc(5);
      head[0] = Amf0Marker.LongString;
      head.writeUInt32BE(bytes.length, 1);
      parts.push(head, bytes);
    } else {
      parts.push(Buffer.of(Amf0Marker.String));
      stringBody(value, parts);
    }
  } else if (value instanceof Date) {
    const b = Buffer.alloc(11);
    b[0] = Amf0Marker.Date;
    b.writeDoubleBE(value.getTime(), 1);
    parts.push(b);
  } else if (Array.isArray(value)) {
    const head = Buffer.alloc(5);
    head[0] = Amf0Marker.StrictArray;
    head.writeUInt32BE(value.length, 1);
    parts.push(head);
    for (const item of value) writeValue(item, parts);
  } else {
    parts.push(Buffer.of(Amf0Marker.Object));
    for (const [key, item] of Object.entries(value)) {
      stringBody(key, parts);
      writeValue(item, parts);
    }
    parts.push(Buffer.of(0, 0, Amf0Marker.ObjectEnd));
  }
}

/** Encodes values one after another, as in a command message. */
export function encodeAmf0(...values: Amf0Value[]): Buffer {
  const parts: Buffer[] = [];
  for (const value of values) writeValue(value, parts);
  return Buffer.concat(parts);
}
