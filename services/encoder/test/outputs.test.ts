import { describe, expect, it } from 'vitest';
import { failureReason, firstRelevantLine, PermanentFailure } from '../src/failures.ts';
import { parseMaster, parseMpdDuration } from '../src/outputs.ts';
import { RunError } from '../src/runner.ts';

// As ffmpeg 5.1's dash muxer writes it with -hls_playlist 1.
const master = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_A1",NAME="audio_2",DEFAULT=YES,URI="media_2.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=931205,RESOLUTION=640x360,CODECS="avc1.42c01e,mp4a.40.2",AUDIO="group_A1"
media_0.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=529867,RESOLUTION=426x240,CODECS="avc1.42c015,mp4a.40.2",AUDIO="group_A1"
media_1.m3u8
`;

describe('manifests', () => {
  it('reads the variants of the master playlist', () => {
    expect(parseMaster(master)).toEqual([
      { index: 0, bandwidth: 931205, codecs: 'avc1.42c01e,mp4a.40.2' },
      { index: 1, bandwidth: 529867, codecs: 'avc1.42c015,mp4a.40.2' },
    ]);
  });

  it('reads the MPD duration', () => {
    expect(parseMpdDuration('<MPD type="static" mediaPresentationDuration="PT6.0S">')).toBe(6);
    expect(parseMpdDuration('<MPD mediaPresentationDuration="PT1H2M3.5S">')).toBe(3723.5);
    expect(parseMpdDuration('<MPD>')).toBeNull();
  });
});

describe('failure reasons', () => {
  const input = '/tmp/wavecast-encode-x/source.mp4';

  it('quotes the first line ffmpeg had to say, without its context and our paths', () => {
    const stderr = [
      '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55b80f3381c0] moov atom not found',
      `${input}: Invalid data found when processing input`,
      '',
    ].join('\n');
    expect(firstRelevantLine(stderr, input)).toBe('moov atom not found');
    expect(firstRelevantLine(`${input}: Invalid data found when processing input\n`, input)).toBe(
      'Invalid data found when processing input',
    );
    expect(firstRelevantLine('Conversion failed!\n', input)).toBeUndefined();
    expect(failureReason(new RunError('exit', 'ffprobe exited with code 1', 1, stderr), input)).toBe(
      'the video could not be decoded: moov atom not found',
    );
  });

  it('words timeouts, permanent failures and internal errors for people', () => {
    expect(failureReason(new RunError('timeout', 'x', null, ''), input)).toBe(
      'encoding took too long and was stopped',
    );
    expect(failureReason(new RunError('stall', 'x', null, ''), input)).toBe(
      'encoding stopped making progress and was stopped',
    );
    expect(failureReason(new PermanentFailure('the uploaded file is missing from storage'), input)).toBe(
      'the uploaded file is missing from storage',
    );
    expect(failureReason(new RunError('exit', 'ffmpeg could not be started', 127, ''), input)).toBe(
      'the video could not be encoded because of an internal error',
    );
    const full = 'Could not write header for output file #0: No space left on device\n';
    expect(failureReason(new RunError('exit', 'ffmpeg exited with code 1', 1, full), input)).toBe(
      'the video could not be encoded because of an internal error',
    );
    expect(failureReason(new Error('ECONNRESET'), input)).toBe(
      'the video could not be encoded because of an internal error',
    );
  });
});
