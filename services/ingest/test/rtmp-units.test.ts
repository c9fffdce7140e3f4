import { describe, expect, it } from 'vitest';
import { encodeAmf0 } from '../src/rtmp/amf0.ts';
import { encodeFlvTag, FlvReader, flvHeader, scriptTagBody, splitAggregate } from '../src/rtmp/flv.ts';
import { HANDSHAKE_SIZE, ServerHandshake } from '../src/rtmp/handshake.ts';
import { appName, isValidStreamName } from '../src/rtmp/publish-request.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('FLV', () => {
  it('encodes a tag with its 32-bit timestamp and PreviousTagSize', () => {
    expect(encodeFlvTag({ type: 9, timestamp: 0x01020304, data: hex('1700') })).toEqual(
      hex('09 000002 020304 01 000000  1700  0000000d'),
    );
  });

  it('writes the header and trailer around data that has a frame, without copying it', () => {
    const frame = Buffer.alloc(11 + 2 + 4);
    const data = frame.subarray(11, 13);
    data.set(hex('1700'));
    const tag = encodeFlvTag({ type: 9, timestamp: 0x01020304, data, frame });
    expect(tag).toBe(frame);
    expect(tag).toEqual(hex('09 000002 020304 01 000000  1700  0000000d'));
    // A frame that is not the data's own room is ignored.
    const other = encodeFlvTag({ type: 9, timestamp: 0x01020304, data: hex('1700'), frame });
    expect(other).not.toBe(frame);
    expect(other).toEqual(tag);
  });

  it('reads back what it writes, in any split', () => {
    const tags = [
      { type: 18, timestamp: 0, data: encodeAmf0('onMetaData', { width: 640 }) },
      { type: 9, timestamp: 33, data: hex('17000000000164') },
      { type: 8, timestamp: 0xfffffffe, data: hex('af0012') },
    ];
    const bytes = Buffer.concat([flvHeader(), ...tags.map(encodeFlvTag)]);
    const reader = new FlvReader();
    const out = [...bytes].flatMap((b) => reader.push(Buffer.of(b)));
    expect(out).toEqual(tags);
  });

  it('strips @setDataFrame, keeps onMetaData byte for byte, drops @clearDataFrame', () => {
    const metadata = encodeAmf0('onMetaData', { duration: 0 });
    expect(scriptTagBody(Buffer.concat([encodeAmf0('@setDataFrame'), metadata]))).toEqual(metadata);
    expect(scriptTagBody(metadata)).toEqual(metadata);
    expect(scriptTagBody(encodeAmf0('@clearDataFrame'))).toBeUndefined();
    expect(scriptTagBody(encodeAmf0(5))).toBeUndefined();
  });

  it('splits an aggregate message into tags rebased on its timestamp', () => {
    const payload = Buffer.concat([
      encodeFlvTag({ type: 8, timestamp: 500, data: hex('af01') }),
      encodeFlvTag({ type: 9, timestamp: 520, data: hex('2701') }),
    ]);
    expect(splitAggregate(payload, 1000)).toEqual([
      { type: 8, timestamp: 1000, data: hex('af01') },
      { type: 9, timestamp: 1020, data: hex('2701') },
    ]);
    expect(() => splitAggregate(payload.subarray(0, 20), 0)).toThrow(/truncated/);
  });
});

describe('handshake', () => {
  const c1 = Buffer.alloc(HANDSHAKE_SIZE, 7);

  it('answers C0+C1 with S0+S1+S2 (S2 echoes C1) and completes on C2, in any split', () => {
    const hs = new ServerHandshake();
    expect(hs.push(Buffer.of(3))).toEqual({ done: false });
    const step = hs.push(c1);
    expect(step.done).toBe(false);
    expect(step.reply).toHaveLength(1 + 2 * HANDSHAKE_SIZE);
    expect(step.reply![0]).toBe(3);
    expect(step.reply!.readUInt32BE(5)).toBe(0); // simple S1: no version, no digest
    expect(step.reply!.subarray(1 + HANDSHAKE_SIZE)).toEqual(c1);
    expect(hs.digest).toBe(true); // bytes 4-7 of this C1 are non-zero, like ffmpeg's
    expect(hs.push(Buffer.alloc(HANDSHAKE_SIZE - 1)).done).toBe(false);
    expect(hs.push(hex('00 0203'))).toEqual({ done: true, rest: hex('0203') });
  });

  it('takes C0+C1+C2 in one segment', () => {
    const step = new ServerHandshake().push(Buffer.concat([Buffer.of(3), c1, c1, hex('02')]));
    expect(step.done && step.rest).toEqual(hex('02'));
  });

  it.each([
    ['HTTP', Buffer.from('GET / HTTP/1.1\r\n')],
    ['TLS', hex('160301')],
    ['RTMPE', hex('06')],
  ])('refuses %s at the first byte', (_name, bytes) => {
    expect(() => new ServerHandshake().push(bytes)).toThrow(/not an RTMP handshake/);
  });
});

describe('publish names', () => {
  it.each([
    ['live', undefined, 'live'],
    ['live/', undefined, 'live'],
    ['live?token=1', undefined, 'live'],
    ['/live/extra', undefined, 'live'],
    [undefined, 'rtmp://host:1935/live/x', 'live'],
    ['', 'rtmp://host/app2', 'app2'],
    [undefined, undefined, undefined],
    ['', 'rtmp://host/', undefined],
    ['li ve', undefined, undefined],
    ['a'.repeat(129), undefined, undefined],
  ])('app %j, tcUrl %j -> %j', (app, tcUrl, expected) => {
    expect(appName(app, tcUrl)).toBe(expected);
  });

  it.each([
    ['sk_live_abc123', true],
    ['key?token=x', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['', false],
    ['a/b', false],
    ['tab\there', false],
    ['é', false],
    [42, false],
  ])('stream name %j valid: %j', (name, valid) => {
    expect(isValidStreamName(name)).toBe(valid);
  });
});
