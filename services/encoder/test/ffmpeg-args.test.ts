import { describe, expect, it } from 'vitest';
import { encodeArgs, posterArgs, storyboardArgs } from '../src/ffmpeg-args.ts';
import { type EncodePlan, parseLadder, planEncode } from '../src/ladder.ts';
import { planStoryboard } from '../src/thumbnails.ts';

const ladder = parseLadder('720:2800,480:1400,360:800');
const opts = { segmentSeconds: 4, preset: 'veryfast' };
const head = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', '-y'];
const dash = (sets: string) => [
  '-f',
  'dash',
  '-dash_segment_type',
  'mp4',
  '-seg_duration',
  '4',
  '-use_template',
  '1',
  '-use_timeline',
  '1',
  '-single_file',
  '0',
  '-hls_playlist',
  '1',
  '-adaptation_sets',
  sets,
  '-init_seg_name',
  'init-$RepresentationID$.m4s',
  '-media_seg_name',
  'seg-$RepresentationID$-$Number%05d$.m4s',
  '/tmp/job/out/manifest.mpd',
];

describe('encodeArgs', () => {
  it('encodes every rendition from one decode, keyframes on the segment grid, into one DASH+HLS output', () => {
    const plan = planEncode(
      {
        durationSeconds: 6,
        video: { index: 0, width: 854, height: 480, fps: 60 },
        audio: { index: 1, sampleRate: 44_100, channels: 2 },
      },
      ladder,
    );
    expect(encodeArgs(plan, '/tmp/job/source.mp4', '/tmp/job/out', opts)).toEqual([
      ...head,
      '-i',
      '/tmp/job/source.mp4',
      '-map_metadata',
      '-1',
      '-map_chapters',
      '-1',
      '-filter_complex',
      '[0:0]split=2[s0][s1];[s0]fps=30,scale=854:480[v0];[s1]fps=30,scale=640:360[v1]',
      '-map',
      '[v0]',
      '-map',
      '[v1]',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-profile:v',
      'high',
      '-pix_fmt',
      'yuv420p',
      '-b:v:0',
      '1400k',
      '-maxrate:v:0',
      '1540k',
      '-bufsize:v:0',
      '2800k',
      '-b:v:1',
      '800k',
      '-maxrate:v:1',
      '880k',
      '-bufsize:v:1',
      '1600k',
      '-force_key_frames',
      'expr:gte(t,n_forced*4)',
      '-sc_threshold',
      '0',
      '-map',
      '0:1',
      '-c:a',
      'aac',
      '-b:a:0',
      '128k',
      '-ac',
      '2',
      '-ar',
      '44100',
      ...dash('id=0,streams=v id=1,streams=a'),
    ]);
  });

  it('skips the split for a single rendition and the audio for a silent video', () => {
    const plan: EncodePlan = {
      videoIndex: 2,
      audioIndex: null,
      video: [{ name: '240p', width: 240, height: 426, videoKbps: 400, fps: { num: 30000, den: 1001 } }],
      audio: [],
      audioChannels: 2,
      audioSampleRate: 48_000,
    };
    const args = encodeArgs(plan, '/tmp/job/source.mov', '/tmp/job/out', opts);
    expect(args.slice(args.indexOf('-filter_complex'), args.indexOf('-c:v'))).toEqual([
      '-filter_complex',
      '[0:2]fps=30000/1001,scale=240:426[v0]',
      '-map',
      '[v0]',
    ]);
    expect(args).not.toContain('-c:a');
    expect(args.slice(args.indexOf('-f'))).toEqual(dash('id=0,streams=v'));
  });

  it('writes an audio-only ladder from one audio stream', () => {
    const plan = planEncode(
      { durationSeconds: 5, video: null, audio: { index: 0, sampleRate: 22_050, channels: 6 } },
      ladder,
    );
    expect(encodeArgs(plan, '/tmp/job/source.m4a', '/tmp/job/out', opts)).toEqual([
      ...head,
      '-i',
      '/tmp/job/source.m4a',
      '-map_metadata',
      '-1',
      '-map_chapters',
      '-1',
      '-map',
      '0:0',
      '-map',
      '0:0',
      '-c:a',
      'aac',
      '-b:a:0',
      '128k',
      '-b:a:1',
      '64k',
      '-ac',
      '2',
      '-ar',
      '48000',
      ...dash('id=0,streams=a'),
    ]);
  });
});

describe('thumbnail args', () => {
  it('seeks the input for the poster', () => {
    expect(
      posterArgs('/tmp/job/source.mp4', 0, 0.6, { width: 640, height: 360 }, '/tmp/job/out/poster.jpg'),
    ).toEqual([
      ...head,
      '-ss',
      '0.600',
      '-i',
      '/tmp/job/source.mp4',
      '-map',
      '0:0',
      '-map_metadata',
      '-1',
      '-frames:v',
      '1',
      '-vf',
      'scale=640:360',
      '-q:v',
      '3',
      '-update',
      '1',
      '/tmp/job/out/poster.jpg',
    ]);
  });

  it('tiles one frame per interval into a single sprite', () => {
    const layout = planStoryboard(6, { width: 640, height: 360 });
    expect(layout).toEqual({ intervalSeconds: 1, columns: 6, rows: 1, tileWidth: 160, tileHeight: 90 });
    expect(storyboardArgs('/tmp/job/source.mp4', 0, layout, '/tmp/job/out/storyboard.jpg')).toEqual([
      ...head,
      '-i',
      '/tmp/job/source.mp4',
      '-map',
      '0:0',
      '-map_metadata',
      '-1',
      '-vf',
      'fps=1/1:eof_action=pass,scale=160:90,tile=6x1',
      '-frames:v',
      '1',
      '-q:v',
      '5',
      '-update',
      '1',
      '/tmp/job/out/storyboard.jpg',
    ]);
  });

  it('bounds the sprite of a long video and fits portrait tiles in the box', () => {
    expect(planStoryboard(7200, { width: 1920, height: 1080 })).toEqual({
      intervalSeconds: 36,
      columns: 10,
      rows: 20,
      tileWidth: 160,
      tileHeight: 90,
    });
    expect(planStoryboard(25, { width: 720, height: 1280 })).toEqual({
      intervalSeconds: 1,
      columns: 10,
      rows: 3,
      tileWidth: 50,
      tileHeight: 90,
    });
  });
});
