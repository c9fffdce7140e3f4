/**
 * The incremental fMP4 parser on hand-built boxes: framing across arbitrary
 * chunk boundaries, track and codec description, sync-sample detection with
 * every source of sample flags, and recovery from malformed input.
 * Real ffmpeg output is covered in hls-ffmpeg.test.ts.
 */
import type { AppError } from '@wavecast/kit/errors';
import { describe, expect, it } from 'vitest';
import { av1Codec, hevcCodec, mp4aCodec } from '../src/hls/codecs.ts';
import { type Fmp4Handlers, Fmp4Parser, type Fragment, type InitSegment } from '../src/hls/fmp4.ts';

const u32 = (...values: number[]) => {
  const b = Buffer.alloc(values.length * 4);
  for (const [i, v] of values.entries()) b.writeUInt32BE(v >>> 0, i * 4);
  return b;
};
const u16 = (...values: number[]) => {
  const b = Buffer.alloc(values.length * 2);
  for (const [i, v] of values.entries()) b.writeUInt16BE(v, i * 2);
  return b;
};
const bytes = (...values: number[]) => Buffer.from(values);

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}
const full = (type: string, version: number, flags: number, ...payload: Buffer[]) =>
  box(type, u32((version << 24) | flags), ...payload);

const NON_SYNC = 0x01010000;
const SYNC = 0x02000000;

function trak(id: number, handler: string, timescale: number, entry: Buffer): Buffer {
  const tkhd = full('tkhd', 0, 3, u32(0, 0, id), Buffer.alloc(68));
  const mdhd = full('mdhd', 0, 0, u32(0, 0, timescale, 0), Buffer.alloc(4));
  const hdlr = full('hdlr', 0, 0, u32(0), Buffer.from(handler), Buffer.alloc(13));
  const stsd = full('stsd', 0, 0, u32(1), entry);
  const stbl = box('stbl', stsd, full('stts', 0, 0, u32(0)));
  return box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', stbl)));
}

function avc1(width: number, height: number): Buffer {
  const avcC = box('avcC', bytes(1, 0x64, 0x00, 0x1f, 0xff, 0xe0, 0x00));
  const visual = Buffer.alloc(70);
  visual.writeUInt16BE(width, 16);
  visual.writeUInt16BE(height, 18);
  return box('avc1', Buffer.alloc(6), u16(1), visual, avcC);
}

function mp4a(): Buffer {
  const specific = bytes(0x05, 2, 0x12, 0x10);
  const config = Buffer.concat([bytes(0x04, 13 + specific.length, 0x40, 0x15), Buffer.alloc(11), specific]);
  const es = Buffer.concat([bytes(0x03, 3 + config.length, 0, 1, 0), config]);
  const audio = Buffer.concat([Buffer.alloc(8), u16(2, 16, 0, 0), u32(48000 << 16)]);
  return box('mp4a', Buffer.alloc(6), u16(1), audio, full('esds', 0, 0, es));
}

/** ftyp + moov with a 90 kHz video track 1 and a 48 kHz audio track 2. */
function init(videoDefaultFlags = NON_SYNC): Buffer {
  const trex = (id: number, duration: number, flags: number) =>
    full('trex', 0, 0, u32(id, 1, duration, 0, flags));
  const moov = box(
    'moov',
    full('mvhd', 0, 0, Buffer.alloc(96)),
    trak(1, 'vide', 90000, avc1(1280, 720)),
    trak(2, 'soun', 48000, mp4a()),
    trak(3, 'text', 1000, box('tx3g')),
    box('mvex', trex(1, 3000, videoDefaultFlags), trex(2, 1024, SYNC)),
  );
  return Buffer.concat([box('ftyp', Buffer.from('isom'), u32(512)), moov]);
}

interface TrafSpec {
  track: number;
  decodeTime: number;
  durations?: number[];
  count?: number;
  firstFlags?: number;
  sampleFlags?: number[];
  tfhdFlags?: number;
}

function traf(t: TrafSpec): Buffer {
  const count = t.durations?.length ?? t.count ?? 1;
  const tfhd =
    t.tfhdFlags === undefined
      ? full('tfhd', 0, 0x20000, u32(t.track))
      : full('tfhd', 0, 0x20020, u32(t.track, t.tfhdFlags));
  let flags = 0x200;
  const head = [u32(count)];
  if (t.firstFlags !== undefined) {
    flags |= 0x4;
    head.push(u32(t.firstFlags));
  }
  if (t.durations) flags |= 0x100;
  if (t.sampleFlags) flags |= 0x400;
  const samples = Array.from({ length: count }, (_, i) => {
    const fields = [];
    if (t.durations) fields.push(t.durations[i]!);
    fields.push(10);
    if (t.sampleFlags) fields.push(t.sampleFlags[i]!);
    return u32(...fields);
  });
  return box(
    'traf',
    tfhd,
    full('tfdt', 1, 0, u32(0, t.decodeTime)),
    full('trun', 0, flags, ...head, ...samples),
  );
}

function fragment(seq: number, ...trafs: TrafSpec[]): Buffer {
  return Buffer.concat([
    box('moof', full('mfhd', 0, 0, u32(seq)), ...trafs.map(traf)),
    box('mdat', Buffer.alloc(64, seq)),
  ]);
}

function collect(options?: { maxBoxBytes?: number }) {
  const inits: InitSegment[] = [];
  const fragments: Fragment[] = [];
  const errors: { err: AppError; fatal: boolean }[] = [];
  const handlers: Fmp4Handlers = {
    init: (i) => void inits.push(i),
    fragment: (f) => void fragments.push(f),
    error: (err, fatal) => void errors.push({ err, fatal }),
  };
  return { parser: new Fmp4Parser(handlers, options), inits, fragments, errors };
}

function feed(parser: Fmp4Parser, data: Buffer, chunk: (i: number) => number) {
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const n = chunk(i);
    parser.push(data.subarray(offset, offset + n));
    offset += n;
  }
}

const video = (seq: number, decodeTime: number, key: boolean) =>
  fragment(
    seq,
    { track: 1, decodeTime, durations: [3000, 3000, 3000], firstFlags: key ? SYNC : NON_SYNC },
    { track: 2, decodeTime: decodeTime / 1.875, count: 4 },
  );

describe('Fmp4Parser', () => {
  const stream = Buffer.concat([init(), video(1, 0, true), video(2, 9000, false), video(3, 18000, true)]);

  it.each([
    ['one buffer', () => stream.length],
    ['1-byte chunks', () => 1],
    ['7-byte chunks', () => 7],
    ['random chunks', () => 1 + Math.floor(Math.random() * 100)],
  ])('reports init and fragments from %s', (_, chunk) => {
    const { parser, inits, fragments, errors } = collect();
    feed(parser, stream, chunk);
    expect(errors).toEqual([]);
    expect(inits).toHaveLength(1);
    expect(inits[0]!.bytes).toEqual(stream.subarray(0, init().length));
    expect(inits[0]!.tracks).toEqual([
      { id: 1, kind: 'video', timescale: 90000, codec: 'avc1.64001f', width: 1280, height: 720 },
      { id: 2, kind: 'audio', timescale: 48000, codec: 'mp4a.40.2', sampleRate: 48000, channels: 2 },
    ]);
    expect(
      fragments.map((f) => [f.sequenceNumber, f.decodeTime, f.duration, f.independent, f.sampleCount]),
    ).toEqual([
      [1, 0, 0.1, true, 3],
      [2, 0.1, 0.1, false, 3],
      [3, 0.2, 0.1, true, 3],
    ]);
    expect(Buffer.concat([inits[0]!.bytes, ...fragments.map((f) => f.bytes)])).toEqual(stream);
    expect(fragments[0]!.runs[1]).toEqual({
      trackId: 2,
      baseMediaDecodeTime: 0,
      duration: 4096,
      sampleCount: 4,
      firstSampleSync: true,
    });
    expect(parser.buffered).toBe(0);
  });

  it('takes sync flags from trun sample flags, tfhd defaults, then trex defaults', () => {
    const { parser, fragments } = collect();
    parser.push(init(SYNC));
    parser.push(fragment(1, { track: 1, decodeTime: 0, count: 2, sampleFlags: [NON_SYNC, SYNC] }));
    parser.push(fragment(2, { track: 1, decodeTime: 6000, count: 2, sampleFlags: [SYNC, NON_SYNC] }));
    parser.push(fragment(3, { track: 1, decodeTime: 12000, count: 2, tfhdFlags: NON_SYNC }));
    parser.push(fragment(4, { track: 1, decodeTime: 18000, count: 2 }));
    expect(fragments.map((f) => f.independent)).toEqual([false, true, false, true]);
    // trex default duration applies when neither trun nor tfhd gives one.
    expect(fragments[3]!.duration).toBeCloseTo(6000 / 90000);
  });

  it('describes a fragment without the video track by the track it has, as not independent', () => {
    const { parser, fragments } = collect();
    parser.push(init());
    parser.push(fragment(9, { track: 2, decodeTime: 96000, count: 2 }));
    expect(fragments[0]).toMatchObject({
      decodeTime: 2,
      duration: 2048 / 48000,
      independent: false,
      sampleCount: 0,
    });
  });

  it('keeps styp/prft/emsg in front of the next fragment and drops sidx/mfra/free', () => {
    const { parser, fragments } = collect();
    const styp = box('styp', Buffer.from('msdh'));
    const prft = full('prft', 1, 0, u32(1, 0, 0, 0, 0));
    parser.push(
      Buffer.concat([init(), box('free'), styp, prft, box('sidx', Buffer.alloc(20)), video(1, 0, true)]),
    );
    parser.push(box('mfra', full('mfro', 0, 0, u32(16))));
    expect(fragments).toHaveLength(1);
    expect(fragments[0]!.bytes).toEqual(Buffer.concat([styp, prft, video(1, 0, true)]));
  });

  it('reads 64-bit box sizes', () => {
    const { parser, fragments } = collect();
    const moofOnly = video(1, 0, true);
    const moof = moofOnly.subarray(0, moofOnly.readUInt32BE(0));
    const payload = Buffer.alloc(100, 7);
    const large = Buffer.concat([u32(1), Buffer.from('mdat'), u32(0, 16 + payload.length), payload]);
    parser.push(Buffer.concat([init(), moof, large]));
    expect(fragments[0]!.bytes).toEqual(Buffer.concat([moof, large]));
  });

  it('reports a new init when a new stream starts (ftyp again)', () => {
    const { parser, inits, fragments } = collect();
    parser.push(Buffer.concat([init(), video(1, 0, true), init(), video(1, 0, true)]));
    expect(inits).toHaveLength(2);
    expect(fragments).toHaveLength(2);
  });

  it('skips a malformed fragment and carries on', () => {
    const { parser, fragments, errors } = collect();
    const bad = box(
      'moof',
      full('mfhd', 0, 0, u32(2)),
      box('traf', full('tfhd', 0, 0, u32(1)), full('trun', 0, 0x100, u32(1e6))),
    );
    parser.push(
      Buffer.concat([init(), video(1, 0, true), bad, box('mdat', Buffer.alloc(10)), video(3, 9000, true)]),
    );
    expect(fragments.map((f) => f.sequenceNumber)).toEqual([1, 3]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ fatal: false, err: { code: 'invalid_argument' } });
    expect(errors[0]!.err.message).toMatch(/trun of 1000000 samples/);
  });

  it('reports fragments before the init and mdat without moof, without throwing', () => {
    const { parser, fragments, errors } = collect();
    parser.push(Buffer.concat([video(1, 0, true), box('mdat', Buffer.alloc(4)), init(), video(2, 0, true)]));
    expect(fragments.map((f) => f.sequenceNumber)).toEqual([2]);
    expect(errors.map((e) => e.err.message)).toEqual([
      'moof before the initialization segment; dropped',
      'mdat without a moof; dropped',
    ]);
  });

  it('stops on bytes that are not boxes, until reset', () => {
    const { parser, fragments, errors } = collect();
    parser.push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.fatal).toBe(true);
    parser.push(Buffer.concat([init(), video(1, 0, true)]));
    expect(fragments).toHaveLength(0);
    expect(parser.buffered).toBe(0);
    parser.reset();
    parser.push(Buffer.concat([init(), video(1, 0, true)]));
    expect(fragments).toHaveLength(1);
  });

  it('stops on a 64-bit size beyond what it can represent, without throwing', () => {
    const { parser, errors } = collect();
    parser.push(Buffer.concat([u32(1), Buffer.from('mdat'), u32(0xffffffff, 0xffffffff)]));
    expect(errors).toEqual([
      { fatal: true, err: expect.objectContaining({ message: expect.stringMatching(/out of range/) }) },
    ]);
  });

  it('refuses boxes larger than the limit instead of buffering them', () => {
    const { parser, errors } = collect({ maxBoxBytes: 2048 });
    parser.push(init());
    parser.push(Buffer.concat([u32(5000), Buffer.from('mdat'), Buffer.alloc(100)]));
    expect(errors).toEqual([
      { fatal: true, err: expect.objectContaining({ message: expect.stringMatching(/5000 bytes/) }) },
    ]);
    expect(parser.buffered).toBe(0);
  });

  it('fails on a moov it cannot read', () => {
    const { parser, inits, errors } = collect();
    parser.push(box('moov', box('trak', full('tkhd', 0, 0, u32(0)))));
    expect(inits).toEqual([]);
    expect(errors[0]).toMatchObject({ fatal: true });
    expect(errors[0]!.err.message).toMatch(/unreadable moov/);
  });
});

describe('codec strings', () => {
  it('derives HEVC, AV1 and AAC strings', () => {
    expect(hevcCodec('hvc1', bytes(1, 0x01, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 93))).toBe('hvc1.1.6.L93.B0');
    expect(hevcCodec('hev1', bytes(1, 0x22, 0x20, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 120))).toBe(
      'hev1.2.4.H120.90',
    );
    expect(av1Codec(bytes(0x81, 0x08, 0x0c))).toBe('av01.0.08M.08');
    const heAac = Buffer.concat([
      u32(0),
      bytes(0x03, 22, 0, 1, 0, 0x04, 17, 0x40, 0x15),
      Buffer.alloc(11),
      bytes(0x05, 2, 0x2b, 0x92),
    ]);
    expect(mp4aCodec(heAac)).toBe('mp4a.40.5');
  });
});
