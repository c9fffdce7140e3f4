/**
 * RenditionPackager on synthetic fragments shaped like ffmpeg's (30 fps,
 * fragments of up to 8 frames, cut at every keyframe): segmentation on
 * keyframes, preload hints, the DVR window, discontinuities, blocking waits,
 * program date-time and measured bandwidth.
 */
import { describe, expect, it } from 'vitest';
import type { Fragment, InitSegment } from '../src/hls/fmp4.ts';
import { type PackagerOptions, RenditionPackager } from '../src/hls/packager.ts';
import { type PartPosition, renderMediaPlaylist } from '../src/hls/playlist.ts';

const FPS = 30;
const T0 = Date.UTC(2025, 0, 1);

function initSegment(tag = 'A'): InitSegment {
  return {
    bytes: Buffer.from(`init-${tag}`),
    tracks: [
      { id: 1, kind: 'video', timescale: 90000, codec: 'avc1.64001f', width: 1280, height: 720 },
      { id: 2, kind: 'audio', timescale: 48000, codec: 'mp4a.40.2', sampleRate: 48000, channels: 2 },
    ],
  };
}

interface SourceOptions {
  seconds: number;
  gopFrames?: number;
  fragFrames?: number;
  /** Frames already sent on this timeline. */
  from?: number;
  /** Fragment size in bytes, by default 1000 per frame. */
  size?: (frames: number) => number;
}

/** Fragments as ffmpeg cuts them: at most `fragFrames` frames, and a new one at every keyframe. */
function source({ seconds, gopFrames = 30, fragFrames = 8, from = 0, size }: SourceOptions): Fragment[] {
  const out: Fragment[] = [];
  const end = from + Math.round(seconds * FPS);
  for (let frame = from; frame < end; ) {
    const nextKey = (Math.floor(frame / gopFrames) + 1) * gopFrames;
    const count = Math.min(fragFrames, nextKey - frame, end - frame);
    const bytes = Buffer.alloc(size ? size(count) : count * 1000, frame % 251);
    bytes.write(`f${frame}`);
    out.push({
      bytes,
      sequenceNumber: out.length + 1,
      decodeTime: frame / FPS,
      duration: count / FPS,
      independent: frame % gopFrames === 0,
      sampleCount: count,
      runs: [],
    });
    frame += count;
  }
  return out;
}

function packager(options: PackagerOptions = {}) {
  let now = T0;
  const p = new RenditionPackager({ firstMsn: 100, now: () => now, ...options });
  p.addInit(initSegment());
  return { p, tick: (ms: number) => (now += ms) };
}

/** Feeds fragments, recording whether each landed where the preload hint said it would. */
function feed(p: RenditionPackager, fragments: Fragment[]) {
  const hints: { hint: PartPosition | undefined; got: PartPosition | undefined }[] = [];
  for (const f of fragments) {
    const hint = p.preloadHint;
    p.addFragment(f);
    hints.push({ hint, got: p.lastPart });
  }
  return hints;
}

const durations = (p: RenditionPackager) => p.playlist()!.segments.map((s) => Number(s.duration.toFixed(3)));

describe('RenditionPackager segmentation', () => {
  it('makes 1 s segments on the keyframes of a 1 s GOP, every fragment a part', () => {
    const { p } = packager({ keyframeInterval: 1 });
    const fragments = source({ seconds: 5.5 });
    const hints = feed(p, fragments);
    const list = p.playlist()!;
    expect(list.segments.map((s) => s.msn)).toEqual([100, 101, 102, 103, 104, 105]);
    expect(durations(p)).toEqual([1, 1, 1, 1, 1, 0.5]);
    expect(list.segments.map((s) => s.complete)).toEqual([true, true, true, true, true, false]);
    for (const segment of list.segments) {
      expect(segment.parts.map((part) => part.independent)).toEqual(segment.parts.map((_, i) => i === 0));
    }
    // The packager knew the GOP, so every hint named the part that came next.
    expect(hints.every(({ hint, got }) => hint?.msn === got?.msn && hint?.part === got?.part)).toBe(true);
    expect(p.preloadHint).toEqual({ msn: 105, part: 2 });
    expect(list.targetDuration).toBe(1);
    expect(list.partTarget).toBe(0.267);
  });

  it('serves a segment as the concatenation of its parts', () => {
    const { p } = packager();
    const fragments = source({ seconds: 2 });
    feed(p, fragments);
    p.end();
    const parts = [0, 1, 2, 3].map((i) => p.partBytes(100, i)!);
    // (Buffer.equals: a deep toEqual on large buffers is slow.)
    expect(Buffer.concat(parts).equals(p.segmentBytes(100)!)).toBe(true);
    const all = Buffer.concat([p.segmentBytes(100)!, p.segmentBytes(101)!]);
    expect(all.equals(Buffer.concat(fragments.map((f) => f.bytes)))).toBe(true);
    // Parts keep their own memory (a segment is never copied while it is live); the joined
    // segment is made once and reused while something holds it.
    expect(parts[0]!.buffer).not.toBe(p.segmentBytes(100)!.buffer);
    expect(p.segmentBytes(100)).toBe(p.segmentBytes(100));
  });

  it('follows a longer publisher GOP: 2 s segments, hints right once the GOP is measured', () => {
    const { p } = packager();
    const hints = feed(p, source({ seconds: 8.5, gopFrames: 60 }));
    expect(durations(p)).toEqual([2, 2, 2, 2, 0.5]);
    expect(p.playlist()!.targetDuration).toBe(2);
    const misses = hints.filter(({ hint, got }) => hint?.msn !== got?.msn || hint?.part !== got?.part);
    // Only the first boundary, before any GOP was seen, was hinted as another part of segment 100.
    expect(misses).toEqual([{ hint: { msn: 100, part: 8 }, got: { msn: 101, part: 0 } }]);
    expect(p.playlist()!.segments.every((s) => s.parts[0]!.independent)).toBe(true);
  });

  it('ends a segment on a keyframe once the target is reached, whatever the GOP', () => {
    const { p } = packager({ segmentDuration: 2 });
    feed(p, source({ seconds: 7, gopFrames: 45 }));
    expect(durations(p)).toEqual([3, 3, 1]);
  });

  it('cuts a segment without a keyframe after maxSegmentDuration', () => {
    const { p } = packager({ maxSegmentDuration: 3 });
    feed(p, source({ seconds: 7, gopFrames: 1000 }));
    const list = p.playlist()!;
    expect(durations(p)).toEqual([2.933, 2.933, 1.133]);
    expect(list.segments.map((s) => s.parts[0]!.independent)).toEqual([true, false, false]);
    expect(list.targetDuration).toBe(3);
  });

  it('closes audio-only segments at the target (every fragment is independent)', () => {
    const { p } = packager();
    const hints = feed(p, source({ seconds: 3, gopFrames: 8 }));
    expect(durations(p)).toEqual([1.067, 1.067, 0.867]);
    expect(hints.every(({ hint, got }) => hint?.msn === got?.msn && hint?.part === got?.part)).toBe(true);
  });

  it('reports the longest part, rounded up to the millisecond, as PART-TARGET', () => {
    const { p } = packager({ partDuration: 0.2 });
    expect(p.playlist()).toBeUndefined();
    feed(p, source({ seconds: 1, fragFrames: 6 }));
    expect(p.playlist()!.partTarget).toBe(0.2);
    feed(p, source({ seconds: 1, fragFrames: 10, from: 30 }));
    expect(p.playlist()!.partTarget).toBe(0.334);
  });

  it('refuses fragments before an init and after the end', () => {
    const p = new RenditionPackager({ firstMsn: 0 });
    expect(() => p.addFragment(source({ seconds: 0.1 })[0]!)).toThrow(/before any init/);
    p.addInit(initSegment());
    p.end();
    expect(() => p.addFragment(source({ seconds: 0.1 })[0]!)).toThrow(/ended/);
  });
});

describe('RenditionPackager window', () => {
  it('slides the DVR window and keeps parts only near the live edge', () => {
    const { p } = packager({ windowSeconds: 10, keyframeInterval: 1 });
    feed(p, source({ seconds: 30.5 }));
    const list = p.playlist()!;
    const complete = list.segments.filter((s) => s.complete);
    expect(complete.map((s) => s.msn)).toEqual([120, 121, 122, 123, 124, 125, 126, 127, 128, 129]);
    expect(p.segmentBytes(119)).toBeUndefined();
    expect(p.segmentBytes(120)).toBeDefined();
    // Parts listed for at least 3 target durations back from the live edge...
    expect(list.partsFrom).toBe(127);
    // ...and fetchable a while longer, for clients on an older playlist.
    expect(p.partBytes(124, 0)).toBeDefined();
    expect(p.partBytes(123, 0)).toBeUndefined();
    const text = renderMediaPlaylist(list);
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:120\n');
    expect(text).not.toContain('part-126.');
    expect(text).toContain('#EXT-X-PART:DURATION=0.26667,URI="part-127.0.m4s",INDEPENDENT=YES');
  });

  it('uses tenths of a second since the epoch as the first msn by default, so URLs never repeat', () => {
    const p = new RenditionPackager({ now: () => T0 + 12_345 });
    p.addInit(initSegment());
    expect(p.preloadHint).toEqual({ msn: T0 / 100 + 123, part: 0 });
  });
});

describe('RenditionPackager discontinuities', () => {
  it('continues sequence numbers, marks the restart and maps the new init', () => {
    const { p, tick } = packager({ windowSeconds: 4, keyframeInterval: 1 });
    feed(p, source({ seconds: 2.5 }));
    tick(10_000);
    p.discontinuity();
    expect(p.preloadHint).toBeUndefined();
    p.addInit(initSegment('B'));
    feed(p, source({ seconds: 2.5 }));
    let text = renderMediaPlaylist(p.playlist()!);
    expect(p.playlist()!.segments.map((s) => [s.msn, s.discontinuity])).toEqual([
      [100, false],
      [101, false],
      [102, false],
      [103, true],
      [104, false],
      [105, false],
    ]);
    expect(text).toMatch(
      /#EXTINF:0.5,\nseg-102.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-103.mp4"\n#EXT-X-PROGRAM-DATE-TIME:2025-01-01T00:00:09.733Z\n/,
    );
    expect(text).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:0\n');
    expect(p.initBytes(100)).toEqual(Buffer.from('init-A'));
    expect(p.initBytes(103)).toEqual(Buffer.from('init-B'));

    // Slide the pre-restart segments out: the sequence counts the discontinuity they took with them.
    feed(p, source({ seconds: 4, from: 75 }));
    text = renderMediaPlaylist(p.playlist()!);
    expect(text).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1\n');
    expect(text).not.toContain('#EXT-X-DISCONTINUITY\n');
    expect(text).toMatch(
      /#EXT-X-MEDIA-SEQUENCE:\d+\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n#EXT-X-MAP:URI="init-103.mp4"/,
    );
    expect(p.initBytes(100)).toBeUndefined();
  });

  it('treats an init arriving after media as a restart', () => {
    const { p } = packager({ keyframeInterval: 1 });
    feed(p, source({ seconds: 1.5 }));
    p.addInit(initSegment('B'));
    feed(p, source({ seconds: 1 }));
    expect(p.playlist()!.segments.map((s) => [s.msn, s.initId, s.discontinuity])).toEqual([
      [100, 100, false],
      [101, 100, false],
      [102, 102, true],
    ]);
  });
});

describe('RenditionPackager waits', () => {
  it('resolves a part wait when that part, or any later one, arrives', async () => {
    const { p } = packager({ keyframeInterval: 1 });
    const fragments = source({ seconds: 3 });
    feed(p, fragments.slice(0, 2));
    await expect(p.waitFor(100, 1)).resolves.toBeUndefined();
    const settled: string[] = [];
    const track = (name: string, promise: Promise<void>) => promise.then(() => void settled.push(name));
    const waits = [
      track('100.2', p.waitFor(100, 2)),
      track('100.9', p.waitFor(100, 9)),
      track('seg 100', p.waitFor(100)),
      track('101.0', p.waitFor(101, 0)),
    ];
    expect(p.waiting).toBe(4);
    feed(p, fragments.slice(2, 3));
    await Promise.resolve();
    expect(settled).toEqual(['100.2']);
    feed(p, fragments.slice(3, 4)); // the last part of segment 100, which then closes
    await Promise.resolve();
    expect(settled).toEqual(['100.2', 'seg 100']);
    feed(p, fragments.slice(4, 5));
    await Promise.all(waits);
    expect(settled).toEqual(['100.2', 'seg 100', '100.9', '101.0']);
    expect(p.waiting).toBe(0);
  });

  it('rejects with the abort reason and forgets the wait', async () => {
    const { p } = packager();
    const abort = new AbortController();
    const wait = p.waitFor(105, 0, abort.signal);
    expect(p.waiting).toBe(1);
    abort.abort(new Error('gone'));
    await expect(wait).rejects.toThrow('gone');
    expect(p.waiting).toBe(0);
    await expect(p.waitFor(105, 0, AbortSignal.abort(new Error('early')))).rejects.toThrow('early');
  });

  it('answers waits at the end: complete segments resolve, the rest are not found', async () => {
    const { p } = packager();
    feed(p, source({ seconds: 0.5 }));
    const segment = p.waitFor(100);
    const later = p.waitFor(101, 0);
    const media = new RenditionPackager({ firstMsn: 0 }).waitForMedia(AbortSignal.timeout(10));
    p.end();
    await expect(segment).resolves.toBeUndefined();
    await expect(later).rejects.toMatchObject({ code: 'not_found' });
    await expect(p.waitFor(200)).rejects.toMatchObject({ code: 'not_found' });
    await expect(media).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});

describe('RenditionPackager timing and bandwidth', () => {
  it('dates segments from the clock at the first fragment, advancing with media time', () => {
    const { p } = packager({ keyframeInterval: 1 });
    feed(p, source({ seconds: 3 }));
    expect(p.playlist()!.segments.map((s) => new Date(s.programDateTime).toISOString())).toEqual([
      '2024-12-31T23:59:59.733Z',
      '2025-01-01T00:00:00.733Z',
      '2025-01-01T00:00:01.733Z',
    ]);
  });

  it('dates segments from the input clock when it is known: capture time, not ffmpeg output time', () => {
    const { p, tick } = packager({ keyframeInterval: 1 });
    p.anchorInput(T0 - 900); // ffmpeg's first fragment came out 0.9 s after its input
    tick(1);
    feed(p, source({ seconds: 2 }));
    expect(p.playlist()!.segments.map((s) => s.programDateTime - T0)).toEqual([-900, 100]);
    // A restart without an input clock is dated from the clock again.
    p.discontinuity();
    p.addInit(initSegment('B'));
    feed(p, source({ seconds: 1 }));
    expect(p.playlist()!.segments[2]!.programDateTime - T0).toBeCloseTo(1 - 8000 / 30, 2);
  });

  it('does not believe an input clock later than the output, far earlier, or for another ffmpeg', () => {
    for (const input of [T0 + 100, T0 - 6_000, T0 - 900]) {
      const { p } = packager({ keyframeInterval: 1 });
      p.anchorInput(input);
      if (input === T0 - 900) {
        p.addInit(initSegment('B')); // the init of the ffmpeg the clock is about...
        p.addInit(initSegment('C')); // ...which died before any media: this is another one
      }
      feed(p, source({ seconds: 1 }));
      expect(p.playlist()!.segments[0]!.programDateTime - T0).toBeCloseTo(-8000 / 30, 2);
    }
  });

  it('changes its revision with every change the playlists show', () => {
    const { p } = packager({ keyframeInterval: 1 });
    const seen = [p.revision];
    const changed = () => {
      expect(p.revision).toBeGreaterThan(seen.at(-1)!);
      seen.push(p.revision);
    };
    for (const f of source({ seconds: 1 })) {
      p.addFragment(f);
      changed();
    }
    p.discontinuity();
    changed();
    p.addInit(initSegment('B'));
    changed();
    p.end();
    changed();
  });

  it('measures bandwidth and frame rate, and advertises the nominal rate when it is higher', () => {
    const { p } = packager({ keyframeInterval: 1 });
    expect(new RenditionPackager().variant('x')).toBeUndefined();
    feed(p, source({ seconds: 0.5 }));
    expect(p.variant('720p/index.m3u8')).toMatchObject({ bandwidth: 240_000, averageBandwidth: 240_000 });
    feed(p, source({ seconds: 1.5, from: 15 }));
    feed(p, source({ seconds: 1, from: 60, size: (frames) => frames * 2000 }));
    feed(p, source({ seconds: 0.5, from: 90 }));
    expect(p.variant('720p/index.m3u8')).toEqual({
      uri: '720p/index.m3u8',
      bandwidth: 480_000,
      averageBandwidth: 320_000,
      codecs: 'avc1.64001f,mp4a.40.2',
      width: 1280,
      height: 720,
      frameRate: 30,
    });
    const nominal = packager({ bandwidth: 5_000_000 }).p;
    expect(nominal.variant('a')).toMatchObject({ bandwidth: 5_000_000, averageBandwidth: 5_000_000 });
  });
});
