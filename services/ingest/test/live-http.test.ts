/**
 * What the ingest answers under /live on a bare node:http server (the
 * standalone ingest's listener): viewers counted from playlist requests, and
 * a request's signal aborted only when its client leaves before the answer.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveStream } from '../src/hls/live.ts';
import { createLiveHttp } from '../src/http.ts';
import type { IngestService } from '../src/ingest.service.ts';
import { ViewerCounter } from '../src/viewers.ts';

let server: Server;
let base: string;
let stream: LiveStream;
let viewers: ViewerCounter;

beforeEach(async () => {
  stream = new LiveStream({ src: {} }, { firstMsn: 0, keyframeInterval: 1 });
  stream.rendition('src').addInit({
    bytes: Buffer.from('init'),
    tracks: [{ id: 1, kind: 'video', timescale: 90000, codec: 'avc1.64001f', width: 640, height: 360 }],
  });
  stream.rendition('src').addFragment({
    bytes: Buffer.from('part'),
    sequenceNumber: 1,
    decodeTime: 0,
    duration: 0.25,
    independent: true,
    sampleCount: 8,
    runs: [],
  });
  viewers = new ViewerCounter();
  const ingest = {
    streams: new Map([['demo', stream]]),
    viewers,
    waitForStream: async () => false,
    thumbnail: () => undefined,
  } as unknown as IngestService;
  server = createServer(createLiveHttp(ingest).listener(false));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

describe('the ingest /live listener', () => {
  it('counts a viewer per address and user agent from playlist requests', async () => {
    for (const agent of ['a', 'a', 'b']) {
      const res = await fetch(`${base}/live/demo/src/index.m3u8`, { headers: { 'user-agent': agent } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    await (await fetch(`${base}/live/demo/src/part-0.0.m4s`)).arrayBuffer(); // not a playlist
    expect(viewers.count('demo')).toBe(2);
  });

  it('aborts a request only when its client goes away before the response', async () => {
    const abort = vi.spyOn(AbortController.prototype, 'abort');
    try {
      for (const path of ['src/index.m3u8', 'src/part-0.0.m4s', 'master.m3u8', 'x/index.m3u8']) {
        await (await fetch(`${base}/live/demo/${path}`)).arrayBuffer();
      }
      expect(abort).not.toHaveBeenCalled();
    } finally {
      abort.mockRestore();
    }
    const client = new AbortController();
    const blocked = fetch(`${base}/live/demo/src/index.m3u8?_HLS_msn=0&_HLS_part=3`, {
      signal: client.signal,
    });
    await vi.waitFor(() => expect(stream.rendition('src').waiting).toBe(1));
    client.abort();
    await expect(blocked).rejects.toThrow();
    await vi.waitFor(() => expect(stream.rendition('src').waiting).toBe(0));
  });
});

describe('ViewerCounter', () => {
  it('counts the distinct pairs seen within the window', () => {
    const counter = new ViewerCounter(30_000);
    counter.seen('a', '10.0.0.1', 'hls.js', 0);
    counter.seen('a', '10.0.0.1', 'hls.js', 10_000);
    counter.seen('a', '10.0.0.2', 'hls.js', 10_000);
    counter.seen('a', '10.0.0.1', 'Safari', 20_000);
    counter.seen('b', '10.0.0.1', 'hls.js', 20_000);
    expect(counter.count('a', 20_000)).toBe(3);
    expect(counter.count('a', 45_000)).toBe(1); // the first two were last seen at 10 s
    expect(counter.count('b', 45_000)).toBe(1);
    counter.forget('b');
    expect(counter.count('b', 45_000)).toBe(0);
    counter.forget('a');
    // Only the start of a user agent counts, so a huge one cannot make a huge entry.
    counter.seen('c', '10.0.0.1', `${'x'.repeat(300)}1`, 0);
    counter.seen('c', '10.0.0.1', `${'x'.repeat(300)}2`, 0);
    expect(counter.count('c', 0)).toBe(1);
    counter.forget('c');
  });

  it('forgets addresses once the window is over, even when nobody asks for a count', () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const counter = new ViewerCounter(30_000);
      counter.seen('a', '10.0.0.1', 'hls.js');
      counter.seen('never-live', '10.0.0.2', 'curl');
      vi.advanceTimersByTime(20_000);
      counter.seen('a', '10.0.0.3', 'hls.js');
      expect(counter.size).toBe(3);
      vi.advanceTimersByTime(15_000); // 35 s: the first two are past the window, swept every 5 s
      expect(counter.size).toBe(1);
      vi.advanceTimersByTime(20_000);
      expect(counter.size).toBe(0);
      expect(vi.getTimerCount()).toBe(0); // nothing held, no sweeping
    } finally {
      vi.useRealTimers();
    }
  });
});
