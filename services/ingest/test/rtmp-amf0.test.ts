import { describe, expect, it } from 'vitest';
import { decodeAmf0, decodeAmf0Value, encodeAmf0 } from '../src/rtmp/amf0.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('AMF0 decoding (byte fixtures)', () => {
  it.each([
    ['number', '00 3FF8000000000000', 1.5],
    ['boolean', '01 01', true],
    ['string', '02 0002 6162', 'ab'],
    ['utf-8 string', '02 0002 c3a9', 'é'],
    ['null', '05', null],
    ['undefined', '06', undefined],
    ['unsupported', '0d', undefined],
    ['long string', '0c 00000003 616263', 'abc'],
    ['xml document', '0f 00000002 3c61', '<a'],
    ['object', '03 0001 61 00 3FF0000000000000 000009', { a: 1 }],
    ['ECMA array (onMetaData)', '08 00000001 0001 61 02 0001 62 000009', { a: 'b' }],
    ['strict array', '0a 00000002 00 3FF0000000000000 02 0001 78', [1, 'x']],
    ['typed object', '10 0003 466f6f 0001 61 05 000009', { a: null }],
    ['date', '0b 4070000000000000 0000', new Date(256)],
    ['nested', '03 0001 6f 03 0001 69 01 00 000009 000009', { o: { i: false } }],
  ])('%s', (_name, bytes, expected) => {
    expect(decodeAmf0(hex(bytes))).toEqual([expected]);
  });

  it('decodes a command as ffmpeg sends it: name, transaction id, object, arguments', () => {
    const bytes = hex(`
      02 0007 636f6e6e656374
      00 3FF0000000000000
      03 0003 617070 02 0004 6c697665
         0004 74797065 02 000a 6e6f6e707269766174
      65 000009
      02 0003 6b6579`);
    expect(decodeAmf0(bytes)).toEqual(['connect', 1, { app: 'live', type: 'nonprivate' }, 'key']);
  });

  it('reports where one value ends', () => {
    expect(decodeAmf0Value(hex('02 0001 61 05'), 0)).toEqual({ value: 'a', offset: 4 });
  });

  it('keeps __proto__ as a plain key', () => {
    const [obj] = decodeAmf0(hex('03 0009 5f5f70726f746f5f5f 01 01 000009')) as [Record<string, unknown>];
    expect(Object.keys(obj)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(obj)).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['a truncated number', '00 3FF0'],
    ['a string longer than the message', '02 ffff 61'],
    ['an object without its end marker', '03 0001 61 05'],
    ['a reference (never sent by encoders)', '07 0001'],
    ['an AMF3 switch', '11 04 01'],
    ['an unknown marker', 'ff'],
    ['a strict array count larger than the message', '0a ffffffff 05'],
  ])('rejects %s', (_name, bytes) => {
    expect(() => decodeAmf0(hex(bytes))).toThrow(/malformed AMF0/);
  });

  it('bounds nesting depth', () => {
    // 40 nested strict arrays of one element each
    const nested = Buffer.concat([...Array.from({ length: 40 }, () => hex('0a 00000001')), hex('05')]);
    expect(() => decodeAmf0(nested)).toThrow(/nested too deeply/);
  });
});

describe('AMF0 encoding', () => {
  it('encodes the values of our replies byte for byte', () => {
    expect(encodeAmf0('_result', 1, null, undefined, true)).toEqual(
      hex('02 0007 5f726573756c74  00 3FF0000000000000  05  06  01 01'),
    );
    expect(encodeAmf0({ level: 'status' })).toEqual(hex('03 0005 6c6576656c 02 0006 737461747573 000009'));
    expect(encodeAmf0([1])).toEqual(hex('0a 00000001 00 3FF0000000000000'));
  });

  it('uses a long string past 65535 bytes', () => {
    const long = 'x'.repeat(70_000);
    const bytes = encodeAmf0(long);
    expect(bytes[0]).toBe(0x0c);
    expect(decodeAmf0(bytes)).toEqual([long]);
  });

  it('round-trips what a connect _result carries', () => {
    const values = [
      '_result',
      1,
      { fmsVer: 'FMS/3,0,1,123', capabilities: 31 },
      { level: 'status', code: 'NetConnection.Connect.Success', nested: { list: [1, 'two', null] } },
      new Date(1_700_000_000_000),
    ];
    expect(decodeAmf0(encodeAmf0(...values))).toEqual(values);
  });
});
