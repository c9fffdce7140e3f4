/** What ffprobe is asked and how its answers are judged: exact arguments, canned outputs, and real files. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@wavecast/kit/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadsConfigSpec } from '../src/config.ts';
import { ffprober } from '../src/ffprobe.ts';
import { describeFailure, framesArgs, judgeFrames, judgeStreams, streamsArgs } from '../src/probe.ts';
import { formatBytes } from '../src/uploads.service.ts';
import { type Media, makeMedia } from './support/media.ts';

const formats = 'mov,mp4,matroska,webm,avi,flv,mpegts,mpeg,asf,ogg,mxf,dv,ivf';

describe('ffprobe arguments', () => {
  it('reads the header of a staged file, with only the file protocol and known containers', () => {
    expect(streamsArgs('/data/uploads/.tus/upl_1')).toEqual([
      '-v',
      'error',
      '-hide_banner',
      '-protocol_whitelist',
      'file',
      '-format_whitelist',
      formats,
      '-print_format',
      'json',
      '-show_format',
      '-show_streams',
      '/data/uploads/.tus/upl_1',
    ]);
  });

  it('decodes the first frame and one near the end, over HTTP for a presigned URL', () => {
    const url = 'https://bucket.s3.amazonaws.com/uploads/vid/source?X-Amz-Signature=abc';
    expect(framesArgs(url, 58.5)).toEqual([
      '-v',
      'error',
      '-hide_banner',
      '-protocol_whitelist',
      'http,https,tcp,tls,crypto',
      '-format_whitelist',
      formats,
      '-print_format',
      'json',
      '-select_streams',
      'v:0',
      '-show_entries',
      'frame=pts_time',
      '-read_intervals',
      '%+#1,58.500%+#1',
      url,
    ]);
    expect(framesArgs('/f')).toContain('%+#1');
  });
});

describe('judging ffprobe output', () => {
  const video = {
    codec_type: 'video',
    codec_name: 'h264',
    width: 1280,
    height: 720,
    avg_frame_rate: '30000/1001',
    r_frame_rate: '30000/1001',
  };

  it('takes the first real video stream, the first audio codec, and seeks 2 s before the end', () => {
    expect(
      judgeStreams({
        streams: [
          {
            codec_type: 'video',
            codec_name: 'mjpeg',
            width: 600,
            height: 600,
            disposition: { attached_pic: 1 },
          },
          { codec_type: 'audio', codec_name: 'opus' },
          video,
        ],
        format: { duration: '60.5', start_time: '1.4' },
      }),
    ).toEqual({
      ok: true,
      probe: {
        duration_seconds: 60.5,
        width: 1280,
        height: 720,
        video_codec: 'h264',
        audio_codec: 'opus',
        frame_rate: 29.97,
      },
      endAt: 59.9,
    });
  });

  it('refuses a file without a video stream, or one without a picture size', () => {
    const cover = { codec_type: 'video', width: 500, height: 500, disposition: { attached_pic: 1 } };
    expect(judgeStreams({ streams: [{ codec_type: 'audio' }, cover] })).toEqual({
      ok: false,
      reason: 'the file has no video stream',
    });
    expect(judgeStreams({ streams: [{ ...video, width: 0 }] })).toMatchObject({ ok: false });
  });

  it('skips the end check for very short videos and does without a frame rate', () => {
    const out = judgeStreams({
      streams: [{ ...video, avg_frame_rate: '0/0', r_frame_rate: 'x' }],
      format: {},
    });
    expect(out).toMatchObject({ ok: true, probe: { duration_seconds: 0, frame_rate: 0 }, endAt: undefined });
  });

  it('needs a first frame, and a frame near the end when it looked there', () => {
    expect(judgeFrames([], false)).toBe('the video stream cannot be decoded');
    expect(judgeFrames([{}], true)).toBe('the file is truncated: its video stops before its end');
    expect(judgeFrames([{}, {}], true)).toBeUndefined();
    expect(judgeFrames([{}], false)).toBeUndefined();
  });

  it('words ffprobe errors for people, without the path or URL it read', () => {
    const input = 'https://s3/uploads/x?X-Amz-Signature=secret';
    const stderr = `[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55c87dd531c0] moov atom not found\n${input}: Invalid data found when processing input\n`;
    expect(describeFailure(stderr, input)).toBe(
      'the file is not a media file ffprobe can read: moov atom not found; Invalid data found when processing input',
    );
    expect(describeFailure("[hls @ 0x1] Format not on whitelist 'mov'\n", input)).toMatch(
      /^the file is not in a video container Wavecast accepts/,
    );
  });

  it('writes sizes as people do', () => {
    expect(formatBytes(10 * 1024 ** 3)).toBe('10 GiB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GiB');
    expect(formatBytes(512 * 1024 ** 2)).toBe('512 MiB');
    expect(formatBytes(1000)).toBe('1000 bytes');
  });

  it('defaults to a 10 GiB limit', () => {
    const config = loadConfig(uploadsConfigSpec, {});
    expect(config).toMatchObject({ maxBytes: 10 * 1024 ** 3, ffprobePath: 'ffprobe', corsOrigins: ['*'] });
    expect(() => loadConfig(uploadsConfigSpec, { UPLOADS_MAX_BYTES: 'lots' })).toThrow(/UPLOADS_MAX_BYTES/);
  });
});

describe('ffprobe on real files', () => {
  let dir: string;
  let media: Media;
  const probe = ffprober('ffprobe');
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wavecast-probe-'));
    media = await makeMedia(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('accepts MP4 and Matroska, and refuses a playlist that would make it fetch URLs', async () => {
    expect(await probe(join(dir, 'clip.mp4'))).toMatchObject({
      ok: true,
      probe: { width: 640, height: 360 },
    });
    const mkv = join(dir, 'clip.mkv');
    const { execFile } = await import('node:child_process');
    await new Promise((resolve, reject) =>
      execFile('ffmpeg', ['-v', 'error', '-y', '-i', join(dir, 'clip.mp4'), '-c', 'copy', mkv], (err) =>
        err ? reject(err) : resolve(undefined),
      ),
    );
    expect(await probe(mkv)).toMatchObject({ ok: true, probe: { video_codec: 'h264', audio_codec: 'aac' } });
    const playlist = join(dir, 'playlist');
    await writeFile(playlist, '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:9/x.ts\n');
    expect(await probe(playlist)).toMatchObject({ ok: false });
    expect(media.audio.length).toBeGreaterThan(0);
    expect(await probe(join(dir, 'audio.m4a'))).toEqual({
      ok: false,
      reason: 'the file has no video stream',
    });
  });
});
