/**
 * A real player for end-to-end tests: headless Chromium (Debian's) driven by
 * playwright-core, loading hls.js from node_modules on a tiny page server.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

const HLS_JS = fileURLToPath(new URL('../../../node_modules/hls.js/dist/hls.min.js', import.meta.url));
const DASH_JS = fileURLToPath(
  new URL('../../../node_modules/dashjs/dist/modern/umd/dash.all.min.js', import.meta.url),
);

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

const PAGE = `<!doctype html>
<html><body>
<video id="v" muted playsinline autoplay width="640"></video>
<script src="/hls.js"></script>
<script src="/dash.js"></script>
<script>
  window.events = [];
  window.play = (url, config) => {
    const video = document.getElementById('v');
    // The configuration the README recommends for live streams.
    const hls = new Hls(Object.assign({ lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.5, backBufferLength: 30 }, config || {}));
    window.hls = hls;
    hls.on(Hls.Events.ERROR, (_e, d) => window.events.push({ type: 'error', fatal: d.fatal, details: d.details }));
    hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => window.events.push({ type: 'level', level: d.level }));
    hls.loadSource(url);
    hls.attachMedia(video);
    video.play().catch(() => {});
  };
  window.playDash = (url) => {
    const video = document.getElementById('v');
    const player = dashjs.MediaPlayer().create();
    window.dash = player;
    player.on(dashjs.MediaPlayer.events.ERROR, (e) => window.events.push({ type: 'error', fatal: true, details: String(e.error && (e.error.message || e.error.code)) }));
    player.initialize(video, url, true);
  };
  window.stats = () => {
    const video = document.getElementById('v');
    const hls = window.hls;
    return {
      currentTime: video.currentTime,
      paused: video.paused,
      readyState: video.readyState,
      videoWidth: video.videoWidth,
      videoHeight: video.videoHeight,
      levels: hls
        ? hls.levels.map((l) => ({ height: l.height, bitrate: l.bitrate, codecs: l.codecSet }))
        : window.dash
          ? window.dash.getRepresentationsByType('video').map((r) => ({ height: r.height, bitrate: r.bandwidth, codecs: r.codecs }))
          : [],
      currentLevel: hls ? hls.currentLevel : -1,
      latency: hls ? hls.latency : null,
      events: window.events,
    };
  };
</script>
</body></html>`;

export interface PlayerStats {
  currentTime: number;
  paused: boolean;
  readyState: number;
  videoWidth: number;
  videoHeight: number;
  levels: { height: number; bitrate: number; codecs: string }[];
  currentLevel: number;
  latency: number | null;
  events: { type: string; fatal?: boolean; details?: string; level?: number }[];
}

export class PlayerHarness {
  #browser: Browser | undefined;
  #server: Server | undefined;
  #base = '';

  async start(): Promise<void> {
    const scripts: Record<string, Buffer> = {
      '/hls.js': await readFile(HLS_JS),
      '/dash.js': await readFile(DASH_JS),
    };
    this.#server = createServer((req, res) => {
      const script = scripts[req.url ?? ''];
      if (script) {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(script);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(PAGE);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    this.#browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
  }

  /** Opens a page that plays `url` with hls.js (low-latency mode with catch-up unless overridden). */
  async play(url: string, hlsConfig: Record<string, unknown> = {}): Promise<Page> {
    const page = await this.#browser!.newPage();
    await page.goto(this.#base);
    await page.evaluate(([u, c]) => (globalThis as any).play(u, c), [url, hlsConfig] as const);
    return page;
  }

  /** Opens a page that plays a DASH manifest with dash.js. */
  async playDash(url: string): Promise<Page> {
    const page = await this.#browser!.newPage();
    await page.goto(this.#base);
    await page.evaluate((u) => (globalThis as any).playDash(u), url);
    return page;
  }

  static stats(page: Page): Promise<PlayerStats> {
    return page.evaluate(() => (globalThis as any).stats());
  }

  async stop(): Promise<void> {
    await this.#browser?.close();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
