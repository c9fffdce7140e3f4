/**
 * The origin on a real node:http server, fetched like a player would:
 * routes, headers, blocking playlist reloads, blocking preload-hinted parts,
 * timeouts, 400/404s and the Fastify-style `handle` entry point.
 */
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Fragment, InitSegment } from '../src/hls/fmp4.ts';
import { LiveStream } from '../src/hls/live.ts';
import { createHlsOrigin, type HlsOrigin } from '../src/hls/origin.ts';
import type { RenditionPackager } from '../src/hls/packager.ts';

const FPS = 30;

const init = (codec: string, width: number): InitSegment => ({
  bytes: Buffer.from(`init ${codec}`),
  tracks: [
    { id: 1, kind: 'video', timescale: 90000, codec, width, height: (width * 9) / 16 },
    { id: 2, kind: 'audio', timescale: 48000, codec: 'mp4a.40.2' },
  ],
});

/** A 1 s GOP cut into fragments of 8, 8, 8 and 6 frames, like ffmpeg's -frag_duration 250000. */
class Source {
  readonly packager: RenditionPackager;
  frame = 0;

  constructor(packager: RenditionPackager) {
    this.packager = packager;
  }

  push(count = 1): void {
    for (let i = 0; i < count; i++) {
      const frames = Math.min(8, 30 - (this.frame % 30));
      const fragment: Fragment = {
        bytes: Buffer.from(`frames ${this.frame}-${this.frame + frames - 1};`),
        sequenceNumber: this.frame,
        decodeTime: this.frame / FPS,
        duration: frames / FPS,
        independent: this.frame % 30 === 0,
        sampleCount: frames,
        runs: [],
      };
      this.packager.addFragment(fragment);
      this.frame += frames;
    }
  }
}

let server: Server;
let base: string;
let origin: HlsOrigin;
let stream: LiveStream;
let hd: Source;
let sd: Source;
const streams = new Map<string, LiveStream>();

beforeEach(async () => {
  stream = new LiveStream(
    { '720p': { bandwidth: 3_000_000 }, '360p': {} },
    { firstMsn: 100, keyframeInterval: 1, windowSeconds: 6 },
  );
  stream.rendition('720p').addInit(init('avc1.64001f', 1280));
  stream.rendition('360p').addInit(init('avc1.64001e', 640));
  hd = new Source(stream.rendition('720p'));
  sd = new Source(stream.rendition('360p'));
  streams.set('demo', stream);
  origin = createHlsOrigin({ streams });
  server = createServer((req, res) => {
    if (!origin.listener(req, res)) res.writeHead(418).end('not mine');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  streams.clear();
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

const get = (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);

/** A GET with the path sent exactly as written (fetch would resolve `..` and `%2e%2e`). */
function raw(path: string): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Settles a fetch in the background, so tests can check it is still pending. */
function pending(path: string) {
  const state: { response?: Response; text?: string } = {};
  const done = get(path).then(async (response) => {
    state.text = await response.text();
    state.response = response;
  });
  return { state, done };
}

describe('HLS origin', () => {
  it('serves the master playlist with what each rendition measured', async () => {
    hd.push(5);
    sd.push(5);
    const res = await get('/live/demo/master.m3u8');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const lines = (await res.text()).split('\n');
    expect(lines[2]).toMatch(
      /^#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=\d+,CODECS="avc1.64001f,mp4a.40.2"/,
    );
    expect(lines[2]).toContain('RESOLUTION=1280x720,FRAME-RATE=30.000');
    expect(lines.slice(3, 6)).toEqual([
      '720p/index.m3u8',
      expect.stringContaining('CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360'),
      '360p/index.m3u8',
    ]);
  });

  it('serves media playlists with reports of the other renditions', async () => {
    hd.push(6);
    sd.push(5);
    const res = await get('/live/demo/720p/index.m3u8');
    const text = await res.text();
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(text).toContain('#EXTINF:1,\nseg-100.m4s\n');
    expect(text).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-101.2.m4s"\n');
    expect(text).toContain('#EXT-X-RENDITION-REPORT:URI="../360p/index.m3u8",LAST-MSN=101,LAST-PART=0\n');
  });

  it('serves init, segments and parts as immutable media', async () => {
    hd.push(5);
    const initRes = await get('/live/demo/720p/init-100.mp4');
    expect(initRes.headers.get('content-type')).toBe('video/mp4');
    expect(initRes.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await initRes.text()).toBe('init avc1.64001f');

    const seg = await get('/live/demo/720p/seg-100.m4s');
    expect(seg.headers.get('content-type')).toBe('video/iso.segment');
    expect(seg.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const parts = await Promise.all([0, 1, 2, 3].map((i) => get(`/live/demo/720p/part-100.${i}.m4s`)));
    const partTexts = await Promise.all(parts.map((r) => r.text()));
    expect(partTexts.join('')).toBe(await seg.text());
    expect(partTexts[0]).toBe('frames 0-7;');
    expect(parts[0]!.headers.get('content-length')).toBe('11');
  });

  it('answers 404 for unknown streams, renditions and resources, and for malformed paths', async () => {
    hd.push(30); // 7.5 s: segment 100 slides out of the 6 s window
    const paths = [
      '/live/nope/master.m3u8',
      '/live/demo/1080p/index.m3u8',
      '/live/demo/720p/seg-100.m4s',
      '/live/demo/720p/seg-999.m4s',
      '/live/demo/720p/part-999.0.m4s',
      '/live/demo/720p/part-100.0.m4s',
      '/live/demo/720p/init-5.mp4',
      '/live/demo/720p/../../../etc/passwd',
      '/live/demo/720p/%2e%2e/index.m3u8',
      '/live/demo/720p/seg-1e3.m4s',
      '/live/demo/720p/index.m3u8/x',
      '/live/demo',
    ];
    for (const path of paths) {
      const res = await raw(path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'not_found' } });
    }
    expect((await get('/live/nope/master.m3u8')).headers.get('cache-control')).toBe('no-cache');
    expect((await get('/live/demo/720p/seg-101.m4s')).status).toBe(200);
    const other = await get('/vod/demo/master.m3u8');
    expect([other.status, await other.text()]).toEqual([418, 'not mine']);
  });

  it('holds a blocking playlist reload until the part exists', async () => {
    hd.push(2);
    const next = pending('/live/demo/720p/index.m3u8?_HLS_msn=100&_HLS_part=2');
    const later = pending('/live/demo/720p/index.m3u8?_HLS_msn=101');
    await delay(100);
    expect(next.state.response).toBeUndefined();
    hd.push(1);
    await next.done;
    expect(next.state.response!.status).toBe(200);
    expect(next.state.text).toContain('URI="part-100.2.m4s"');
    expect(later.state.response).toBeUndefined();
    hd.push(5); // segment 101 completes with its fourth part
    await later.done;
    expect(later.state.text).toContain('\nseg-101.m4s\n');
  });

  it('refuses reloads more than two segments ahead, and malformed directives', async () => {
    hd.push(5); // segment 100 complete
    const cases = ['_HLS_msn=103', '_HLS_msn=103&_HLS_part=0', '_HLS_part=1', '_HLS_msn=-1', '_HLS_msn=1.5'];
    for (const query of cases) {
      const res = await get(`/live/demo/720p/index.m3u8?${query}`);
      expect([query, res.status]).toEqual([query, 400]);
    }
  });

  it('gives up on a blocking reload after three target durations with 503', async () => {
    hd.push(1);
    const started = Date.now();
    const res = await get('/live/demo/720p/index.m3u8?_HLS_msn=101');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
  });

  it('holds a request for the preload-hinted part until it is complete', async () => {
    hd.push(4);
    expect((await get('/live/demo/720p/part-101.1.m4s')).status).toBe(404); // not the hint: no waiting
    const hinted = pending('/live/demo/720p/part-101.0.m4s');
    const openSegment = pending('/live/demo/720p/seg-101.m4s');
    await delay(100);
    expect(hinted.state.response).toBeUndefined();
    hd.push(1);
    await hinted.done;
    expect([hinted.state.response!.status, hinted.state.text]).toEqual([200, 'frames 30-37;']);
    expect(openSegment.state.response).toBeUndefined();
    hd.push(3);
    await openSegment.done;
    expect(openSegment.state.text).toBe('frames 30-37;frames 38-45;frames 46-53;frames 54-59;');
  });

  it('answers 404 when a hinted part is overtaken by a new segment', async () => {
    const p = new LiveStream({ src: {} }, { firstMsn: 0 }); // GOP unknown: the first segment ends late
    p.rendition('src').addInit(init('avc1.64001f', 1280));
    streams.set('late', p);
    const src = new Source(p.rendition('src'));
    src.push(4);
    const hinted = pending('/live/late/src/part-0.4.m4s');
    await vi.waitFor(() => expect(p.rendition('src').waiting).toBe(1));
    src.push(1); // a keyframe: starts segment 1 instead
    await hinted.done;
    expect(hinted.state.response!.status).toBe(404);
  });

  it('forgets blocked requests whose client went away', async () => {
    hd.push(1);
    const abort = new AbortController();
    const request = get('/live/demo/720p/index.m3u8?_HLS_msn=100&_HLS_part=3', { signal: abort.signal });
    await vi.waitFor(() => expect(stream.rendition('720p').waiting).toBe(1));
    abort.abort();
    await expect(request).rejects.toThrow();
    await vi.waitFor(() => expect(stream.rendition('720p').waiting).toBe(0));
  });

  it('answers blocked reloads with the final playlist when the stream ends', async () => {
    hd.push(2);
    const blocked = pending('/live/demo/720p/index.m3u8?_HLS_msn=101');
    await vi.waitFor(() => expect(stream.rendition('720p').waiting).toBe(1));
    stream.end();
    await blocked.done;
    expect(blocked.state.response!.status).toBe(200);
    expect(blocked.state.text).toMatch(/seg-100.m4s\n#EXT-X-ENDLIST\n$/);
    const afterEnd = await get('/live/demo/720p/index.m3u8?_HLS_msn=150');
    expect(afterEnd.status).toBe(200);
  });

  it('waits for the first media before serving playlists of a stream that is starting', async () => {
    const master = pending('/live/demo/master.m3u8');
    const media = pending('/live/demo/360p/index.m3u8');
    await delay(100);
    sd.push(1);
    await media.done;
    expect(media.state.text).toContain('part-100.0.m4s');
    await delay(100);
    expect(master.state.response).toBeUndefined(); // until every rendition has media
    hd.push(1);
    await master.done;
    expect(master.state.text).toMatch(/720p\/index.m3u8\n.*\n360p\/index.m3u8\n$/);
  });

  it('lists the renditions it can describe once the start-up wait is over', async () => {
    sd.push(1);
    const started = Date.now();
    const res = await get('/live/demo/master.m3u8');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    const text = await res.text();
    // 720p has no media yet, but its init and nominal bandwidth describe it.
    expect(text).toContain('720p/index.m3u8');
    expect(text).toContain('360p/index.m3u8');
    const idle = new LiveStream({ a: {} }, { firstMsn: 0 });
    idle.end(); // ended without any media: nothing to wait for, nothing to list
    streams.set('idle', idle);
    expect((await get('/live/idle/master.m3u8')).status).toBe(503);
  });

  it('answers HEAD, OPTIONS and other methods', async () => {
    hd.push(5);
    const head = await get('/live/demo/720p/seg-100.m4s', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(
      String('frames 0-7;frames 8-15;frames 16-23;frames 24-29;'.length),
    );
    expect(await head.text()).toBe('');
    const options = await get('/live/demo/master.m3u8', { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('access-control-allow-methods')).toBe('GET, HEAD, OPTIONS');
    const post = await get('/live/demo/master.m3u8', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });

  it('renders each playlist once per change and serves that rendering until the next', async () => {
    hd.push(5);
    sd.push(5);
    const url = '/live/demo/720p/index.m3u8';
    const first = (await origin.handle('GET', url))!;
    expect((await origin.handle('GET', url))!.body).toBe(first.body); // the same Buffer
    expect(first.headers['content-length']).toBe(String((first.body as Buffer).length));
    sd.push(1); // another rendition moved on: its rendition report changes
    const report = (await origin.handle('GET', url))!;
    expect(report.body).not.toBe(first.body);
    expect(String(report.body)).toContain('URI="../360p/index.m3u8",LAST-MSN=101,LAST-PART=1\n');
    hd.push(1);
    const part = String((await origin.handle('GET', url))!.body);
    expect(part).toContain('URI="part-101.1.m4s"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-101.2.m4s"\n');
    const head = (await origin.handle('HEAD', url))!;
    expect([head.body, head.headers['content-length']]).toEqual(['', String(Buffer.byteLength(part))]);

    const master = (await origin.handle('GET', '/live/demo/master.m3u8'))!;
    expect((await origin.handle('GET', '/live/demo/master.m3u8'))!.body).toBe(master.body);
    hd.push(3); // segment 101 completes: measured bandwidth may change
    expect((await origin.handle('GET', '/live/demo/master.m3u8'))!.body).not.toBe(master.body);
    stream.end();
    expect(String((await origin.handle('GET', url))!.body)).toContain('\n#EXT-X-ENDLIST\n');
  });

  it('wakes blocked reloads with a playlist that has what they waited for', async () => {
    hd.push(2);
    await origin.handle('GET', '/live/demo/720p/index.m3u8'); // cached before the part arrives
    const url = '/live/demo/720p/index.m3u8?_HLS_msn=100&_HLS_part=2';
    const blocked = [1, 2, 3].map(() => origin.handle('GET', url));
    await vi.waitFor(() => expect(stream.rendition('720p').waiting).toBe(3));
    hd.push(1);
    const answers = await Promise.all(blocked);
    for (const answer of answers) {
      expect(String(answer!.body)).toContain('URI="part-100.2.m4s"');
      expect(answer!.body).toBe(answers[0]!.body); // rendered once for the three
    }
  });

  it('aborts a request only when its client goes away before the response', async () => {
    const abort = vi.spyOn(AbortController.prototype, 'abort');
    try {
      hd.push(5);
      for (const path of ['720p/index.m3u8', '720p/part-100.0.m4s', 'master.m3u8', 'nope/index.m3u8']) {
        await (await get(`/live/demo/${path}`)).arrayBuffer();
      }
      await (await get('/live/demo/720p/index.m3u8', { method: 'HEAD' })).arrayBuffer();
      await delay(20);
      expect(abort).not.toHaveBeenCalled();
    } finally {
      abort.mockRestore();
    }
  });

  it('can be mounted anywhere through handle(method, url)', async () => {
    const custom = createHlsOrigin({ streams, prefix: '/hls' });
    expect(await custom.handle('GET', '/live/demo/master.m3u8')).toBeUndefined();
    hd.push(1);
    const res = await custom.handle('GET', '/hls/demo/720p/part-100.0.m4s?x=1');
    expect(res).toMatchObject({ status: 200, headers: { 'content-type': 'video/iso.segment' } });
    expect(String(res!.body)).toBe('frames 0-7;');
  });
});
