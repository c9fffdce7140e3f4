/**
 * Playlist rendering, read back with m3u8-parser (video.js's parser, which
 * knows the LL-HLS tags) and checked line by line where the exact text matters.
 */
import { Parser } from 'm3u8-parser';
import { describe, expect, it } from 'vitest';
import {
  type MediaPlaylist,
  type PlaylistSegment,
  renderMasterPlaylist,
  renderMediaPlaylist,
} from '../src/hls/playlist.ts';

function parse(text: string) {
  const parser = new Parser();
  const warnings: string[] = [];
  parser.on('warn', (w: { message: string }) => warnings.push(w.message));
  parser.push(text);
  parser.end();
  return { manifest: parser.manifest, warnings };
}

const T0 = Date.UTC(2025, 0, 1);
const part = (duration: number, independent = false) => ({ duration, independent });
const fourParts = [part(0.26667, true), part(0.26667), part(0.26667), part(0.2)];

function segment(msn: number, overrides: Partial<PlaylistSegment> = {}): PlaylistSegment {
  return {
    msn,
    duration: 1,
    initId: 7,
    discontinuity: false,
    programDateTime: T0 + (msn - 10) * 1000,
    complete: true,
    parts: fourParts,
    ...overrides,
  };
}

function playlist(overrides: Partial<MediaPlaylist> = {}): MediaPlaylist {
  return {
    targetDuration: 1,
    partTarget: 0.267,
    discontinuitySequence: 4,
    segments: [
      segment(10),
      segment(11),
      segment(12),
      segment(13),
      segment(14, { complete: false, duration: 0.53334, parts: fourParts.slice(0, 2) }),
    ],
    partsFrom: 12,
    preloadHint: { msn: 14, part: 2 },
    ended: false,
    ...overrides,
  };
}

describe('renderMediaPlaylist', () => {
  it('renders a live LL-HLS playlist', () => {
    const text = renderMediaPlaylist(playlist(), [{ uri: '../360p/index.m3u8', msn: 14, part: 1 }]);
    const { manifest, warnings } = parse(text);
    expect(warnings).toEqual([]);
    expect(manifest).toMatchObject({
      version: 9,
      targetDuration: 1,
      mediaSequence: 10,
      discontinuitySequence: 4,
      partTargetDuration: 0.267,
      serverControl: { canBlockReload: true, canSkipUntil: 6, partHoldBack: 0.801, holdBack: 3 },
      renditionReports: [{ uri: '../360p/index.m3u8', lastMsn: 14, lastPart: 1 }],
    });
    expect(manifest.endList).toBeUndefined();
    expect(manifest.segments.map((s: any) => [s.uri, s.duration, s.map.uri, s.parts?.length ?? 0])).toEqual([
      ['seg-10.m4s', 1, 'init-7.mp4', 0],
      ['seg-11.m4s', 1, 'init-7.mp4', 0],
      ['seg-12.m4s', 1, 'init-7.mp4', 4],
      ['seg-13.m4s', 1, 'init-7.mp4', 4],
    ]);
    expect(manifest.segments[2].parts).toEqual([
      { duration: 0.26667, uri: 'part-12.0.m4s', independent: true },
      { duration: 0.26667, uri: 'part-12.1.m4s' },
      { duration: 0.26667, uri: 'part-12.2.m4s' },
      { duration: 0.2, uri: 'part-12.3.m4s' },
    ]);
    expect(manifest.segments[1].dateTimeString).toBe('2025-01-01T00:00:01.000Z');
    expect(manifest.preloadSegment.parts.map((p: any) => p.uri)).toEqual(['part-14.0.m4s', 'part-14.1.m4s']);
    expect(manifest.preloadSegment.preloadHints).toEqual([{ type: 'PART', uri: 'part-14.2.m4s' }]);
    // One EXT-X-MAP at the top: segments share the init.
    expect(text.match(/#EXT-X-MAP/g)).toHaveLength(1);
    expect(text.split('\n').slice(0, 8)).toEqual([
      '#EXTM3U',
      '#EXT-X-VERSION:9',
      '#EXT-X-TARGETDURATION:1',
      '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6,PART-HOLD-BACK=0.801,HOLD-BACK=3',
      '#EXT-X-PART-INF:PART-TARGET=0.267',
      '#EXT-X-MEDIA-SEQUENCE:10',
      '#EXT-X-DISCONTINUITY-SEQUENCE:4',
      '#EXT-X-MAP:URI="init-7.mp4"',
    ]);
  });

  it('marks a discontinuity with a new map, and ends with ENDLIST and no hint', () => {
    const segments = [
      segment(10),
      segment(11, { discontinuity: true, initId: 11 }),
      segment(12, { initId: 11 }),
    ];
    const text = renderMediaPlaylist(playlist({ segments, partsFrom: 99, ended: true }));
    const { manifest } = parse(text);
    expect(manifest.endList).toBe(true);
    expect(manifest.preloadSegment).toBeUndefined();
    expect(manifest.discontinuityStarts).toEqual([1]);
    expect(manifest.segments.map((s: any) => [s.map.uri, s.timeline])).toEqual([
      ['init-7.mp4', 4],
      ['init-11.mp4', 5],
      ['init-11.mp4', 5],
    ]);
    expect(text).not.toContain('#EXT-X-PART:');
    expect(text).not.toContain('PRELOAD-HINT');
  });

  it('is an ordinary HLS playlist for players that ignore the LL-HLS tags', () => {
    const text = renderMediaPlaylist(playlist());
    const ordinary = text
      .split('\n')
      .filter((line) => !/^#EXT-X-(PART|PART-INF|PRELOAD-HINT|SERVER-CONTROL|RENDITION-REPORT):/.test(line))
      .join('\n');
    const { manifest, warnings } = parse(ordinary);
    expect(warnings).toEqual([]);
    expect(manifest.segments.map((s: any) => s.uri)).toEqual([
      'seg-10.m4s',
      'seg-11.m4s',
      'seg-12.m4s',
      'seg-13.m4s',
    ]);
    expect(manifest.preloadSegment).toBeUndefined();
  });

  it('skips the segments older than CAN-SKIP-UNTIL in a delta update', () => {
    const segments = [
      ...[10, 11].map((msn) => segment(msn)),
      ...[12, 13, 14, 15, 16].map((msn) => segment(msn, { discontinuity: msn === 12, initId: 12 })),
      ...[17, 18, 19, 20, 21].map((msn) => segment(msn, { discontinuity: msn === 17, initId: 17 })),
      segment(22, { initId: 17, complete: false, duration: 0.53334, parts: fourParts.slice(0, 2) }),
    ];
    const full = playlist({ segments, partsFrom: 19, preloadHint: { msn: 22, part: 2 } });
    const text = renderMediaPlaylist(full, [], true);
    const { manifest, warnings } = parse(text);
    expect(warnings).toEqual([]);
    // 12.5 s listed; the segments ending 6 s or more before the end are skipped: 10 to 15.
    expect(manifest).toMatchObject({
      mediaSequence: 10,
      discontinuitySequence: 4,
      skip: { skippedSegments: 6 },
    });
    expect(manifest.segments.map((s: any) => [s.uri, s.map.uri, s.discontinuity ?? false])).toEqual([
      ['seg-16.m4s', 'init-12.mp4', false],
      ['seg-17.m4s', 'init-17.mp4', true],
      ...[18, 19, 20, 21].map((msn) => [`seg-${msn}.m4s`, 'init-17.mp4', false]),
    ]);
    expect(manifest.preloadSegment.preloadHints).toEqual([{ type: 'PART', uri: 'part-22.2.m4s' }]);
    expect(text).toContain(
      '#EXT-X-DISCONTINUITY-SEQUENCE:4\n#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n#EXT-X-MAP:URI="init-12.mp4"\n',
    );
    // The rest is the full playlist's text.
    expect(renderMediaPlaylist(full)).toContain(text.slice(text.indexOf('#EXT-X-PROGRAM-DATE-TIME')));
    // Nothing to skip in a short playlist: the delta update is the whole playlist.
    expect(renderMediaPlaylist(playlist(), [], true)).toBe(renderMediaPlaylist(playlist()));
  });

  it('renders a complete segment once, and again only if it changed', () => {
    const segments = [segment(10, { parts: [] }), segment(11, { parts: [] })];
    const first = renderMediaPlaylist(playlist({ segments, partsFrom: 99 }));
    expect(renderMediaPlaylist(playlist({ segments, partsFrom: 99 }))).toBe(first);
    (segments[1] as { duration: number }).duration = 1.5;
    expect(renderMediaPlaylist(playlist({ segments, partsFrom: 99 }))).toContain(
      '#EXTINF:1.5,\nseg-11.m4s\n',
    );
  });

  it('keeps durations exact to 5 decimals and the target duration an integer', () => {
    const segments = [segment(10, { duration: 2.0333333, parts: [] })];
    const text = renderMediaPlaylist(playlist({ targetDuration: 2, partTarget: 0.334, segments }));
    expect(text).toContain('#EXTINF:2.03333,\nseg-10.m4s\n');
    expect(text).toContain('#EXT-X-TARGETDURATION:2\n');
    expect(text).toContain('PART-HOLD-BACK=1.002,HOLD-BACK=6');
  });
});

describe('renderMasterPlaylist', () => {
  it('lists each rendition with its measured bandwidth, codecs, size and frame rate', () => {
    const text = renderMasterPlaylist([
      {
        uri: 'source/index.m3u8',
        bandwidth: 4_500_000.4,
        averageBandwidth: 3_900_000,
        codecs: 'avc1.640028,mp4a.40.2',
        width: 1920,
        height: 1080,
        frameRate: 29.97,
      },
      {
        uri: 'audio/index.m3u8',
        bandwidth: 128_000,
        averageBandwidth: undefined,
        codecs: 'mp4a.40.2',
        width: undefined,
        height: undefined,
        frameRate: undefined,
      },
    ]);
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:9',
        '#EXT-X-STREAM-INF:BANDWIDTH=4500001,AVERAGE-BANDWIDTH=3900000,CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1920x1080,FRAME-RATE=29.970',
        'source/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS="mp4a.40.2"',
        'audio/index.m3u8',
        '',
      ].join('\n'),
    );
    const { manifest } = parse(text);
    expect(manifest.playlists[0].attributes).toMatchObject({
      BANDWIDTH: 4500001,
      RESOLUTION: { width: 1920, height: 1080 },
      CODECS: 'avc1.640028,mp4a.40.2',
      'FRAME-RATE': 29.97,
    });
  });
});
