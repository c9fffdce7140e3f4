import { describe, expect, it } from 'vitest';
import { avcConfigDimensions } from '../src/transcode/avc.ts';
import {
  avcConfig,
  FlvReader,
  type FlvTag,
  isAudioConfig,
  isKeyframe,
  isVideoConfig,
} from '../src/transcode/flv-reader.ts';
import { collect, flvTestPattern } from './support/ffmpeg.ts';

async function tagsOf(width: number, height: number): Promise<FlvTag[]> {
  const bytes = await collect(flvTestPattern({ width, height, seconds: 2 }).flv);
  const reader = new FlvReader();
  const tags: FlvTag[] = [];
  // Odd chunk sizes: tags must not depend on how the bytes arrive.
  for (let i = 0; i < bytes.length; i += 777) tags.push(...reader.push(bytes.subarray(i, i + 777)));
  expect(reader.header?.toString('latin1', 0, 3)).toBe('FLV');
  return tags;
}

describe('FLV reading', () => {
  it('splits tags across arbitrary chunk boundaries and classifies them', async () => {
    const tags = await tagsOf(854, 480);
    expect(tags[0]?.type).toBe('script');
    expect(tags.filter(isVideoConfig)).toHaveLength(1);
    expect(tags.filter(isAudioConfig)).toHaveLength(1);
    const keyframes = tags.filter(isKeyframe);
    expect(keyframes.length).toBeGreaterThanOrEqual(2); // one per second at -g 30
    expect(keyframes[1]!.timestamp - keyframes[0]!.timestamp).toBe(1000);
    const last = tags.at(-1)!;
    expect(last.timestamp).toBeGreaterThan(1800);
  });

  it.each([
    [854, 480],
    [1280, 720],
    [426, 240],
    [1920, 1080],
  ])('reads the picture size %ix%i from the SPS', async (width, height) => {
    const tags = await tagsOf(width, height);
    const record = avcConfig(tags.find(isVideoConfig)!);
    expect(avcConfigDimensions(record!)).toEqual({ width, height });
  });

  it('rejects a stream that is not FLV', () => {
    expect(() => new FlvReader().push(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toThrow('not an FLV stream');
  });
});
