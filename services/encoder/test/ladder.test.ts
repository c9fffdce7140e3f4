import { describe, expect, it } from 'vitest';
import { outputFps, parseLadder, planEncode, type SourceInfo } from '../src/ladder.ts';
import { parseProbe } from '../src/probe.ts';

const ladder = parseLadder('1080:5000,720:2800,480:1400,360:800,240:400');
const fps30 = { num: 30, den: 1 };

function video(width: number, height: number, fps = 30): SourceInfo {
  return {
    durationSeconds: 10,
    video: { index: 0, width, height, fps },
    audio: { index: 1, sampleRate: 48_000, channels: 2 },
  };
}

const sizes = (source: SourceInfo) =>
  planEncode(source, ladder).video.map((r) => [r.name, r.width, r.height]);

describe('planEncode', () => {
  it('encodes every rung up to a landscape source, highest first', () => {
    const plan = planEncode(video(1920, 1080), ladder);
    expect(plan.video).toEqual([
      { name: '1080p', width: 1920, height: 1080, videoKbps: 5000, fps: fps30 },
      { name: '720p', width: 1280, height: 720, videoKbps: 2800, fps: fps30 },
      { name: '480p', width: 854, height: 480, videoKbps: 1400, fps: fps30 },
      { name: '360p', width: 640, height: 360, videoKbps: 800, fps: fps30 },
      { name: '240p', width: 426, height: 240, videoKbps: 400, fps: fps30 },
    ]);
    expect(plan).toMatchObject({ videoIndex: 0, audioIndex: 1, audioChannels: 2, audioSampleRate: 48_000 });
    expect(plan.audio).toEqual([{ name: 'aac-128k', kbps: 128 }]);
  });

  it('never upscales, and caps a source above the ladder at the top rung', () => {
    expect(sizes(video(640, 360))).toEqual([
      ['360p', 640, 360],
      ['240p', 426, 240],
    ]);
    expect(sizes(video(3840, 2160)).map(([name]) => name)).toEqual(['1080p', '720p', '480p', '360p', '240p']);
  });

  it('scales portrait sources by their short side', () => {
    expect(sizes(video(1080, 1920)).slice(0, 2)).toEqual([
      ['1080p', 1080, 1920],
      ['720p', 720, 1280],
    ]);
    expect(sizes(video(1080, 1920)).at(-1)).toEqual(['240p', 240, 426]);
  });

  it('keeps every dimension even and within the source for odd sizes', () => {
    expect(sizes(video(641, 361))).toEqual([
      ['360p', 640, 360],
      ['240p', 426, 240],
    ]);
    expect(sizes(video(1279, 721))).toEqual([
      ['720p', 1278, 720],
      ['480p', 852, 480],
      ['360p', 638, 360],
      ['240p', 426, 240],
    ]);
  });

  it('adds a top rendition at the source size only when it is well above the rung below', () => {
    // 500p is within 10% of 480p: not worth a rendition.
    expect(sizes(video(888, 500)).map(([name]) => name)).toEqual(['480p', '360p', '240p']);
    const plan = planEncode(video(1066, 600), ladder);
    // 600p sits half-way between 480p (1400k) and 720p (2800k).
    expect(plan.video[0]).toEqual({ name: '600p', width: 1066, height: 600, videoKbps: 2100, fps: fps30 });
    expect(plan.video.map((r) => r.name)).toEqual(['600p', '480p', '360p', '240p']);
  });

  it('encodes a 240p source once, and a source below every rung at its own size', () => {
    expect(sizes(video(426, 240))).toEqual([['240p', 426, 240]]);
    const tiny = planEncode(video(320, 180), ladder).video;
    expect(tiny).toEqual([{ name: '180p', width: 320, height: 180, videoKbps: 225, fps: fps30 }]);
  });

  it('plans an audio-only ladder when there is no video', () => {
    const plan = planEncode(
      { durationSeconds: 5, video: null, audio: { index: 0, sampleRate: 44_100, channels: 1 } },
      ladder,
    );
    expect(plan).toEqual({
      videoIndex: null,
      audioIndex: 0,
      video: [],
      audio: [
        { name: 'aac-128k', kbps: 128 },
        { name: 'aac-64k', kbps: 64 },
      ],
      audioChannels: 1,
      audioSampleRate: 44_100,
    });
  });

  it('plans no audio for a silent video, and refuses a file with neither', () => {
    const plan = planEncode({ ...video(640, 360), audio: null }, ladder);
    expect(plan.audio).toEqual([]);
    expect(plan.audioIndex).toBeNull();
    expect(() => planEncode({ durationSeconds: 1, video: null, audio: null }, ladder)).toThrow(
      'the file has no video or audio stream',
    );
  });
});

describe('outputFps', () => {
  it('keeps standard rates and halves high ones per rendition size', () => {
    expect(outputFps(30, 1080)).toEqual({ num: 30, den: 1 });
    expect(outputFps(60, 1080)).toEqual({ num: 60, den: 1 });
    expect(outputFps(60, 480)).toEqual({ num: 30, den: 1 });
    expect(outputFps(50, 360)).toEqual({ num: 25, den: 1 });
    expect(outputFps(120, 720)).toEqual({ num: 60, den: 1 });
    expect(outputFps(59.94, 360)).toEqual({ num: 30000, den: 1001 });
  });

  it('turns variable or unknown rates into a constant one', () => {
    // A phone's VFR average snaps to the standard rate it approximates.
    expect(outputFps(29.83, 720)).toEqual({ num: 30000, den: 1001 });
    expect(outputFps(17.3, 720)).toEqual({ num: 17, den: 1 });
    expect(outputFps(0.5, 720)).toEqual({ num: 1, den: 1 });
    expect(outputFps(Number.NaN, 720)).toEqual({ num: 30, den: 1 });
  });
});

describe('parseLadder', () => {
  it('reads height:kbps pairs and explains a malformed entry', () => {
    expect(parseLadder('720:2800, 360:700')).toEqual([
      { height: 720, videoKbps: 2800 },
      { height: 360, videoKbps: 700 },
    ]);
    expect(() => parseLadder('720:2800,720p')).toThrow('has "720p" where height:kbps belongs, e.g. 720:2800');
  });
});

describe('parseProbe', () => {
  const probe = (streams: unknown[], duration = '6.000000') =>
    parseProbe(JSON.stringify({ streams, format: { duration } }));

  it('reads the display size, rate, audio and duration', () => {
    const info = probe([
      {
        index: 0,
        codec_type: 'video',
        width: 640,
        height: 360,
        sample_aspect_ratio: '1:1',
        avg_frame_rate: '30000/1001',
      },
      { index: 1, codec_type: 'audio', sample_rate: '44100', channels: 1 },
    ]);
    expect(info).toEqual({
      durationSeconds: 6,
      video: { index: 0, width: 640, height: 360, fps: 30000 / 1001 },
      audio: { index: 1, sampleRate: 44_100, channels: 1 },
    });
  });

  it('applies rotation and non-square pixels, as ffmpeg does when decoding', () => {
    const rotated = probe([
      { index: 0, codec_type: 'video', width: 1920, height: 1080, side_data_list: [{ rotation: -90 }] },
    ]);
    expect(rotated.video).toMatchObject({ width: 1080, height: 1920 });
    const anamorphic = probe([
      { index: 0, codec_type: 'video', width: 720, height: 576, sample_aspect_ratio: '64:45' },
    ]);
    expect(anamorphic.video).toMatchObject({ width: 1024, height: 576 });
  });

  it('treats cover art as no video, and a missing duration as unknown', () => {
    const info = probe(
      [
        { index: 0, codec_type: 'audio', sample_rate: '44100', channels: 2 },
        { index: 1, codec_type: 'video', width: 600, height: 600, disposition: { attached_pic: 1 } },
      ],
      'N/A',
    );
    expect(info.video).toBeNull();
    expect(info.durationSeconds).toBeNull();
  });
});
