/**
 * The viewer of the latency benchmark: headless Chromium (Debian's, with the
 * flags of the end-to-end tests) playing a URL with hls.js, reading the
 * barcode of every displayed frame (requestVideoFrameCallback, then the
 * frame drawn on a small canvas) and comparing it with the page's clock.
 *
 * A small HTTP server serves the page, hls.js, and optionally a directory of
 * static files under /static/ (the plain-HLS baseline), with no-cache
 * playlists like any live origin.
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { chromiumArgs } from '../../../test/e2e/support/player.ts';
import { COLS, DECODER_SOURCE, ROWS } from './barcode.ts';
import { onCleanup } from './procs.ts';

const HLS_JS = fileURLToPath(new URL('../../../node_modules/hls.js/dist/hls.min.js', import.meta.url));
/** Canvas pixels per barcode block: enough to sample a block's centre far from its edges. */
const CANVAS_BLOCK = 8;

const PAGE = `<!doctype html>
<html><body>
<video id="v" muted playsinline autoplay width="640"></video>
<canvas id="c" width="${COLS * CANVAS_BLOCK}" height="${ROWS * CANVAS_BLOCK}"></canvas>
<script src="/hls.js"></script>
<script>${DECODER_SOURCE}</script>
<script>
  window.m = { samples: [], unreadable: 0, frames: 0, waiting: 0, errors: [], first: null };
  window.play = (url, config) => {
    const video = document.getElementById('v');
    const canvas = document.getElementById('c');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const hls = new Hls(config);
    window.hls = hls;
    hls.on(Hls.Events.ERROR, (_e, d) => window.m.errors.push((d.fatal ? 'fatal ' : '') + d.details));
    video.addEventListener('waiting', () => window.m.waiting++);
    const started = Date.now();
    const onFrame = (_now, meta) => {
      const now = Date.now();
      if (!window.m.first) {
        const b = video.buffered;
        window.m.first = {
          afterMs: now - started,
          currentTime: video.currentTime,
          bufferedStart: b.length ? b.start(0) : null,
          hlsLatency: hls.latency,
          targetLatency: hls.targetLatency,
        };
      }
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const stamp = window.decodeBarcode(ctx, canvas.width, canvas.height, now);
      window.m.frames++;
      if (stamp === undefined) window.m.unreadable++;
      else {
        const pdt = hls.playingDate ? hls.playingDate.getTime() : NaN;
        window.m.samples.push([now, now - stamp, meta.height, now - pdt]);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    hls.loadSource(url);
    hls.attachMedia(video);
    video.play().catch(() => {});
  };
  window.state = () => {
    const video = document.getElementById('v');
    const hls = window.hls;
    return {
      currentTime: video.currentTime,
      playbackRate: video.playbackRate,
      videoHeight: video.videoHeight,
      level: hls ? hls.currentLevel : -1,
      levels: hls ? hls.levels.map((l) => l.height) : [],
      hlsLatency: hls ? hls.latency : null,
      targetLatency: hls ? hls.targetLatency : null,
    };
  };
  window.take = () => {
    const out = window.m.samples;
    window.m.samples = [];
    return out;
  };
</script>
</body></html>`;

export interface FrameSample {
  /** Page clock when the frame was presented. */
  at: number;
  /** Page clock minus the publisher's clock in the frame: glass-to-glass latency, ms. */
  latencyMs: number;
  /** Height of the frame (which rendition was playing). */
  height: number;
  /**
   * Page clock minus the EXT-X-PROGRAM-DATE-TIME of the playback position (NaN without PDT). Wavecast
   * stamps PDT with its clock when a part arrives from ffmpeg, so this is the delay from the packager
   * on (part duration, delivery, player buffer); latency minus this is the delay before it.
   */
  behindPdtMs: number;
}

export interface PageState {
  currentTime: number;
  playbackRate: number;
  videoHeight: number;
  level: number;
  levels: number[];
  hlsLatency: number | null;
  targetLatency: number | null;
}

export class LatencyPlayer {
  #browser: Browser | undefined;
  #server: Server | undefined;
  #staticRoot: string | undefined;
  base = '';

  /** `staticRoot`: a directory served under /static/ (set or change it with `serveStatic`). */
  async start(): Promise<void> {
    const hls = readFileSync(HLS_JS);
    this.#server = createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0]!;
      if (url === '/hls.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(hls);
        return;
      }
      if (url.startsWith('/static/') && this.#staticRoot) {
        const file = path.join(this.#staticRoot, path.basename(url));
        try {
          const size = statSync(file).size;
          const playlist = file.endsWith('.m3u8');
          res.writeHead(200, {
            'content-type': playlist ? 'application/vnd.apple.mpegurl' : 'video/mp2t',
            'cache-control': playlist ? 'no-cache' : 'max-age=60',
            'content-length': String(size),
          });
          createReadStream(file).pipe(res);
        } catch {
          res.writeHead(404).end();
        }
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    this.#browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: chromiumArgs,
      // Our own handlers close everything on a signal.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    onCleanup(() => this.stop());
  }

  serveStatic(dir: string | undefined): void {
    this.#staticRoot = dir;
  }

  async play(url: string, hlsConfig: Record<string, unknown>): Promise<Page> {
    const page = await this.#browser!.newPage();
    await page.goto(this.base);
    await page.evaluate(([u, c]) => (globalThis as any).play(u, c), [url, hlsConfig] as const);
    return page;
  }

  static async take(page: Page): Promise<FrameSample[]> {
    const raw: [number, number, number, number | null][] = await page.evaluate(() =>
      (globalThis as any).take(),
    );
    return raw.map(([at, latencyMs, height, behindPdt]) => ({
      at,
      latencyMs,
      height,
      behindPdtMs: behindPdt ?? Number.NaN,
    }));
  }

  static counters(page: Page): Promise<{
    unreadable: number;
    frames: number;
    waiting: number;
    errors: string[];
    /** At the first displayed frame: ms since play(), and hls.js's view of the latency then. */
    first: {
      afterMs: number;
      currentTime: number;
      bufferedStart: number | null;
      hlsLatency: number;
      targetLatency: number;
    } | null;
  }> {
    return page.evaluate(() => {
      const m = (globalThis as any).m;
      return {
        unreadable: m.unreadable,
        frames: m.frames,
        waiting: m.waiting,
        errors: m.errors.slice(-20),
        first: m.first,
      };
    });
  }

  static state(page: Page): Promise<PageState> {
    return page.evaluate(() => (globalThis as any).state());
  }

  async stop(): Promise<void> {
    const browser = this.#browser;
    this.#browser = undefined;
    await browser?.close().catch(() => undefined);
    const server = this.#server;
    this.#server = undefined;
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
