import { describe, expect, it } from 'vitest';
import { ChunkReader, ChunkWriter, type RtmpMessage } from '../src/rtmp/chunk-stream.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** Recognisable payload bytes: 0, 1, 2, … */
const body = (n: number, from = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) & 0xff));

function read(bytes: Buffer, opts = { maxMessageBytes: 1 << 20 }): RtmpMessage[] {
  return new ChunkReader(opts).push(bytes);
}

/** Same bytes, fed one at a time: the parser must not depend on how TCP splits them. */
function readByteByByte(bytes: Buffer): RtmpMessage[] {
  const reader = new ChunkReader({ maxMessageBytes: 1 << 20 });
  const out: RtmpMessage[] = [];
  for (const b of bytes) out.push(...reader.push(Buffer.of(b)));
  return out;
}

const summary = (m: RtmpMessage) => ({
  csid: m.csid,
  typeId: m.typeId,
  streamId: m.streamId,
  timestamp: m.timestamp,
  length: m.payload.length,
});

describe('ChunkReader', () => {
  // A 300-byte video message at the default 128-byte chunk size: fmt 0, then two fmt 3 continuations.
  const split = Buffer.concat([
    hex('06  00000a  00012c  09  01000000'),
    body(128),
    hex('c6'),
    body(128, 128),
    hex('c6'),
    body(44, 256),
  ]);

  it('reassembles a message cut into 128-byte chunks', () => {
    const [msg, ...rest] = read(split);
    expect(rest).toEqual([]);
    expect(summary(msg!)).toEqual({ csid: 6, typeId: 9, streamId: 1, timestamp: 10, length: 300 });
    expect(msg!.payload).toEqual(body(300));
  });

  it('gives the same messages whatever the TCP segmentation', () => {
    expect(readByteByByte(split)).toEqual(read(split));
  });

  it('applies Set Chunk Size at the point where it arrives', () => {
    const bytes = Buffer.concat([
      hex('02  000000  000004  01  00000000  00001000'), // Set Chunk Size 4096
      hex('06  000000  00012c  09  01000000'),
      body(300), // one chunk now
      hex('02  000000  000004  01  00000000  00000064'), // Set Chunk Size 100
      hex('86  000021'), // fmt 2 on csid 6: same length and type, delta 33
      body(100),
      hex('c6'),
      body(100, 100),
      hex('c6'),
      body(100, 200),
    ]);
    const reader = new ChunkReader({ maxMessageBytes: 1 << 20 });
    const msgs = reader.push(bytes);
    expect(msgs.map(summary)).toEqual([
      { csid: 6, typeId: 9, streamId: 1, timestamp: 0, length: 300 },
      { csid: 6, typeId: 9, streamId: 1, timestamp: 33, length: 300 },
    ]);
    expect(msgs[1]!.payload).toEqual(body(300));
    expect(reader.chunkSize).toBe(100);
    expect(readByteByByte(bytes)).toEqual(msgs);
  });

  it('computes timestamps from fmt 1, 2 and 3 deltas', () => {
    const bytes = Buffer.concat([
      hex('04  0003e8  000002  08  01000000'),
      hex('aabb'), // t = 1000
      hex('44  000021  000003  08'),
      hex('aabbcc'), // fmt 1: delta 33, new length -> 1033
      hex('84  000028'),
      hex('aabbcc'), // fmt 2: delta 40 -> 1073
      hex('c4'),
      hex('aabbcc'), // fmt 3: the previous delta again -> 1113
    ]);
    expect(read(bytes).map((m) => [m.timestamp, m.payload.length])).toEqual([
      [1000, 2],
      [1033, 3],
      [1073, 3],
      [1113, 3],
    ]);
  });

  it('reads extended timestamps, repeated on continuation chunks as ffmpeg and librtmp send them', () => {
    const bytes = Buffer.concat([
      hex('06  ffffff  0000c8  09  01000000  01000000'),
      body(128),
      hex('c6  01000000'), // continuation repeats the extended timestamp
      body(72, 128),
      hex('c6  01000000'), // a new fmt 3 message: delta = the fmt 0 time (spec 5.3.1.2.4)
      body(128),
      hex('c6'), // an encoder that omits it on continuations: these bytes are payload
      body(72, 128),
    ]);
    const msgs = read(bytes);
    expect(msgs.map((m) => m.timestamp)).toEqual([0x01000000, 0x02000000]);
    expect(msgs[0]!.payload).toEqual(body(200));
    expect(msgs[1]!.payload).toEqual(body(200));
  });

  it('wraps timestamps at 32 bits', () => {
    const bytes = Buffer.concat([
      hex('04  ffffff  000001  08  01000000  fffffff0'),
      hex('00'),
      hex('84  000020'),
      hex('00'),
    ]);
    expect(read(bytes).map((m) => m.timestamp)).toEqual([0xfffffff0, 0x10]);
  });

  it('demultiplexes interleaved chunk streams', () => {
    const bytes = Buffer.concat([
      hex('06  000000  0000c8  09  01000000'),
      body(128), // video, first half
      hex('04  000000  000004  08  01000000'),
      hex('af01aaaa'), // a whole audio message in between
      hex('c6'),
      body(72, 128), // video, second half
    ]);
    const msgs = read(bytes);
    expect(msgs.map(summary)).toEqual([
      { csid: 4, typeId: 8, streamId: 1, timestamp: 0, length: 4 },
      { csid: 6, typeId: 9, streamId: 1, timestamp: 0, length: 200 },
    ]);
    expect(msgs[1]!.payload).toEqual(body(200));
    expect(readByteByByte(bytes)).toEqual(msgs);
  });

  it('reads 2- and 3-byte basic headers (chunk stream ids 64-65599)', () => {
    const bytes = Buffer.concat([
      hex('00 0a  000000  000001  12  00000000'),
      hex('05'), // csid 74
      hex('01 5001  000000  000001  12  00000000'),
      hex('05'), // csid 400
      hex('c0 0a'),
      hex('05'), // fmt 3 on csid 74
    ]);
    expect(read(bytes).map((m) => m.csid)).toEqual([74, 400, 74]);
  });

  it('takes a zero-length message', () => {
    expect(read(hex('04  000000  000000  08  01000000')).map(summary)).toEqual([
      { csid: 4, typeId: 8, streamId: 1, timestamp: 0, length: 0 },
    ]);
  });

  it('drops a partial message on Abort', () => {
    const bytes = Buffer.concat([
      hex('06  000000  0000c8  09  01000000'),
      body(128),
      hex('02  000000  000004  02  00000000  00000006'), // Abort csid 6
      hex('06  000000  000002  09  01000000'),
      hex('abcd'),
    ]);
    const msgs = read(bytes);
    expect(msgs.map((m) => m.payload)).toEqual([hex('abcd')]);
  });

  it.each([
    ['a fmt 1 header on a chunk stream never opened', hex('44  000000  000004  08'), /starts with a fmt 1/],
    ['a fmt 3 header on a chunk stream never opened', hex('c4'), /starts with a fmt 3/],
    [
      'a new header inside a message',
      Buffer.concat([
        hex('06  000000  0000c8  09  01000000'),
        body(128),
        hex('06  000000  000001  09  01000000'),
      ]),
      /inside a message/,
    ],
    ['a message over the limit', hex('06  000000  100001  09  01000000'), /exceeds/],
    ['Set Chunk Size 0', hex('02  000000  000004  01  00000000  00000000'), /invalid chunk size/],
    [
      'Set Chunk Size with the top bit',
      hex('02  000000  000004  01  00000000  80000000'),
      /invalid chunk size/,
    ],
  ])('refuses %s', (_name, bytes, error) => {
    expect(() => read(bytes)).toThrow(error);
  });

  it('bounds bytes held in partial messages across chunk streams', () => {
    const reader = new ChunkReader({ maxMessageBytes: 1000, maxBufferedBytes: 1500 });
    reader.push(Buffer.concat([hex('04  000000  0003e8  09  01000000'), body(128)])); // first chunk of 1000 bytes
    expect(() => reader.push(hex('06  000000  0003e8  09  01000000'))).toThrow(/partially received/);
  });

  it('bounds the number of chunk streams', () => {
    const reader = new ChunkReader({ maxMessageBytes: 1000 });
    const open = (csid: number) =>
      Buffer.concat([hex('00'), Buffer.of(csid - 64), hex('000000 000001 08 00000000 00')]);
    for (let csid = 64; csid < 128; csid++) reader.push(open(csid));
    expect(() => reader.push(open(200))).toThrow(/too many chunk streams/);
  });
});

describe('ChunkWriter', () => {
  it('writes a fmt 0 header then fmt 3 continuations', () => {
    const writer = new ChunkWriter();
    const bytes = writer.encode({ csid: 3, typeId: 20, streamId: 0, timestamp: 5, payload: body(200) });
    expect(bytes).toEqual(
      Buffer.concat([hex('03  000005  0000c8  14  00000000'), body(128), hex('c3'), body(72, 128)]),
    );
  });

  it('writes extended timestamps and large chunk stream ids', () => {
    const writer = new ChunkWriter();
    writer.chunkSize = 4;
    const bytes = writer.encode({
      csid: 400,
      typeId: 8,
      streamId: 1,
      timestamp: 0x01000000,
      payload: body(6),
    });
    expect(bytes).toEqual(
      Buffer.concat([
        hex('01 5001  ffffff  000006  08  01000000  01000000'),
        body(4),
        hex('c1 5001  01000000'),
        body(2, 4),
      ]),
    );
    const reader = new ChunkReader({ maxMessageBytes: 100 });
    reader.push(hex('02  000000  000004  01  00000000  00000004'));
    expect(reader.push(bytes).map(summary)).toEqual([
      { csid: 400, typeId: 8, streamId: 1, timestamp: 0x01000000, length: 6 },
    ]);
  });

  it('round-trips through the reader at any chunk size', () => {
    for (const size of [1, 7, 128, 4096]) {
      const writer = new ChunkWriter();
      writer.chunkSize = size;
      const reader = new ChunkReader({ maxMessageBytes: 1 << 20 });
      reader.push(hex(`02 000000 000004 01 00000000 ${size.toString(16).padStart(8, '0')}`));
      const payload = body(1000);
      const [msg] = reader.push(writer.encode({ csid: 6, typeId: 9, streamId: 1, timestamp: 40, payload }));
      expect(msg!.payload).toEqual(payload);
    }
  });
});
