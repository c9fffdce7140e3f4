import { describe, expect, it } from 'vitest';
import { liveTranscodeArgs } from '../src/transcode/ffmpeg-args.ts';
import { defaultLadder, parseLadder, planRenditions } from '../src/transcode/ladder.ts';

describe('planRenditions', () => {
  it('passes the source through and adds every lower rung, highest first', () => {
    const plan = planRenditions({ width: 1920, height: 1080 }, defaultLadder, false);
    expect(plan.map((r) => [r.name, r.width, r.height])).toEqual([
      ['source', 1920, 1080],
      ['720p', 1280, 720],
      ['480p', 854, 480],
      ['360p', 640, 360],
    ]);
  });

  it('never upscales, nor duplicates the source height', () => {
    expect(planRenditions({ width: 854, height: 480 }, defaultLadder, false).map((r) => r.name)).toEqual([
      'source',
      '360p',
    ]);
    expect(planRenditions({ width: 640, height: 360 }, defaultLadder, false).map((r) => r.name)).toEqual([
      'source',
    ]);
  });

  it('keeps widths even for odd aspect ratios and portrait sources', () => {
    const plan = planRenditions({ width: 1080, height: 1920 }, defaultLadder, false);
    for (const r of plan) expect(r.width % 2).toBe(0);
    expect(plan.find((r) => r.name === '720p')).toMatchObject({ width: 406, height: 720 });
  });

  it('has a passthrough-only mode for weak machines', () => {
    expect(planRenditions({ width: 1920, height: 1080 }, defaultLadder, true).map((r) => r.name)).toEqual([
      'source',
    ]);
  });
});

describe('parseLadder', () => {
  it('reads height:kbps pairs', () => {
    expect(parseLadder('720:2800, 360:700')).toEqual([
      { height: 720, videoKbps: 2800 },
      { height: 360, videoKbps: 700 },
    ]);
    expect(parseLadder('')).toEqual([]);
  });

  it('explains a malformed entry', () => {
    expect(() => parseLadder('720p')).toThrow('ladder entry "720p" must be height:kbps, e.g. 720:2800');
  });
});

describe('liveTranscodeArgs', () => {
  it('copies the source and encodes rungs with keyframes on the segment grid, one pipe each', () => {
    const plan = planRenditions({ width: 854, height: 480 }, defaultLadder, false);
    expect(liveTranscodeArgs(plan, { segmentSeconds: 1, partMs: 250, preset: 'veryfast' })).toEqual([
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'warning',
      '-probesize',
      '64k',
      '-analyzeduration',
      '500000',
      '-f',
      'flv',
      '-i',
      'pipe:0',
      '-map',
      '0:v:0',
      '-map',
      '0:a:0?',
      '-c',
      'copy',
      '-f',
      'mp4',
      '-movflags',
      '+frag_keyframe+empty_moov+default_base_moof',
      '-frag_duration',
      '250000',
      '-flush_packets',
      '1',
      'pipe:3',
      '-map',
      '0:v:0',
      '-map',
      '0:a:0?',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-tune',
      'zerolatency',
      '-profile:v',
      'main',
      '-pix_fmt',
      'yuv420p',
      '-vf',
      'scale=640:360',
      '-b:v',
      '800k',
      '-maxrate',
      '880k',
      '-bufsize',
      '800k',
      '-force_key_frames',
      'expr:gte(t,n_forced*1)',
      '-sc_threshold',
      '0',
      '-c:a',
      'copy',
      '-f',
      'mp4',
      '-movflags',
      '+frag_keyframe+empty_moov+default_base_moof',
      '-frag_duration',
      '250000',
      '-flush_packets',
      '1',
      'pipe:4',
    ]);
  });

  it('adds a thumbnail output after the renditions, decoding keyframes only when all are copied', () => {
    const opts = {
      segmentSeconds: 1,
      partMs: 250,
      preset: 'veryfast',
      thumbnail: { seconds: 10, height: 360 },
    };
    const copied = liveTranscodeArgs(planRenditions({ width: 1280, height: 720 }, defaultLadder, true), opts);
    expect(copied.slice(4, 6)).toEqual(['-skip_frame', 'nokey']);
    expect(copied.indexOf('-skip_frame')).toBeLessThan(copied.indexOf('-i'));
    const thumb = copied.slice(copied.indexOf('pipe:3') + 1);
    expect(thumb).toEqual([
      '-map',
      '0:v:0',
      '-vf',
      "select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,10)',scale=-2:360",
      '-fps_mode',
      'passthrough',
      '-an',
      '-c:v',
      'mjpeg',
      '-q:v',
      '5',
      '-flush_packets',
      '1',
      '-f',
      'image2pipe',
      'pipe:4',
    ]);
    // Transcoded rungs need every frame decoded: no skipping then.
    const ladder = liveTranscodeArgs(planRenditions({ width: 854, height: 480 }, defaultLadder, false), opts);
    expect(ladder).not.toContain('-skip_frame');
    expect(ladder.at(-1)).toBe('pipe:5');
  });
});
