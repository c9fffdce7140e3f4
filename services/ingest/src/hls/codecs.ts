/**
 * RFC 6381 codec strings (the CODECS attribute of a variant) from the
 * decoder configuration boxes of a sample entry.
 */
import { BoxError, Cursor } from './bmff.ts';

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** `avc1.PPCCLL` from an avcC body: profile, constraint flags, level. */
export function avcCodec(fourcc: string, avcC: Uint8Array): string {
  if (avcC.length < 4) throw new BoxError('avcC too short');
  return `${fourcc}.${hex2(avcC[1]!)}${hex2(avcC[2]!)}${hex2(avcC[3]!)}`;
}

/** `hvc1.1.6.L93.B0` from an hvcC body (ISO/IEC 14496-15 annex E). */
export function hevcCodec(fourcc: string, hvcC: Uint8Array): string {
  if (hvcC.length < 13) throw new BoxError('hvcC too short');
  const c = new Cursor(hvcC, 1, hvcC.length);
  const byte = c.u8();
  const space = ['', 'A', 'B', 'C'][byte >> 6];
  const tier = byte & 0x20 ? 'H' : 'L';
  const profile = byte & 0x1f;
  let compat = c.u32();
  let reversed = 0;
  for (let i = 0; i < 32; i++, compat >>>= 1) reversed = (reversed << 1) | (compat & 1);
  const constraints = [...c.bytes(6)];
  while (constraints.length > 0 && constraints.at(-1) === 0) constraints.pop();
  const level = c.u8();
  const tail = constraints.map((b) => `.${b.toString(16).toUpperCase()}`).join('');
  return `${fourcc}.${space}${profile}.${(reversed >>> 0).toString(16).toUpperCase()}.${tier}${level}${tail}`;
}

/** `av01.P.LLT.DD` from an av1C body. */
export function av1Codec(av1C: Uint8Array): string {
  if (av1C.length < 3) throw new BoxError('av1C too short');
  const profile = av1C[1]! >> 5;
  const level = av1C[1]! & 0x1f;
  const tier = av1C[2]! & 0x80 ? 'H' : 'M';
  const depth = av1C[2]! & 0x40 ? (profile === 2 && av1C[2]! & 0x20 ? 12 : 10) : 8;
  return `av01.${profile}.${String(level).padStart(2, '0')}${tier}.${String(depth).padStart(2, '0')}`;
}

/** `vp09.PP.LL.DD` from a vpcC body (a full box: version and flags first). */
export function vp9Codec(vpcC: Uint8Array): string {
  if (vpcC.length < 7) throw new BoxError('vpcC too short');
  const pad = (n: number) => String(n).padStart(2, '0');
  return `vp09.${pad(vpcC[4]!)}.${pad(vpcC[5]!)}.${pad(vpcC[6]! >> 4)}`;
}

/** MPEG-4 descriptors (ISO/IEC 14496-1): tag byte, then a 1-4 byte length. */
function descriptor(c: Cursor): { tag: number; end: number } {
  const tag = c.u8();
  let length = 0;
  for (let i = 0; i < 4; i++) {
    const b = c.u8();
    length = (length << 7) | (b & 0x7f);
    if (!(b & 0x80)) break;
  }
  const end = c.pos + length;
  if (end > c.end) throw new BoxError('descriptor overruns esds');
  return { tag, end };
}

/** `mp4a.40.2` from an esds body: object type indication and audio object type. */
export function mp4aCodec(esds: Uint8Array): string {
  const c = new Cursor(esds, 4, esds.length);
  const es = descriptor(c);
  if (es.tag !== 0x03) throw new BoxError('esds without an ES descriptor');
  c.skip(2);
  const flags = c.u8();
  if (flags & 0x80) c.skip(2);
  if (flags & 0x40) c.skip(c.u8());
  if (flags & 0x20) c.skip(2);
  const config = descriptor(c);
  if (config.tag !== 0x04) throw new BoxError('esds without a decoder config descriptor');
  const objectType = c.u8();
  c.skip(12);
  if (c.pos >= config.end) return `mp4a.${objectType.toString(16)}`;
  const specific = descriptor(c);
  if (specific.tag !== 0x05 || specific.end - c.pos < 1) return `mp4a.${objectType.toString(16)}`;
  const first = c.u8();
  let audioObjectType = first >> 3;
  if (audioObjectType === 31) audioObjectType = 32 + (((first & 0x07) << 3) | (c.u8() >> 5));
  return `mp4a.${objectType.toString(16)}.${audioObjectType}`;
}

/** Codec strings that need no configuration box. */
export const plainCodecs: Readonly<Record<string, string>> = {
  Opus: 'opus',
  fLaC: 'flac',
  'ac-3': 'ac-3',
  'ec-3': 'ec-3',
};
