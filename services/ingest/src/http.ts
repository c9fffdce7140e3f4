/**
 * What the ingest node answers over HTTP under /live: the HLS origin, the
 * channel thumbnails, and the viewer count taken from playlist requests.
 * Framework-free, so the gateway mounts it in-process (all-in-one) and the
 * standalone ingest serves it from a bare http server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHlsOrigin, type OriginResponse } from './hls/index.ts';
import type { IngestService } from './ingest.service.ts';

export interface Viewer {
  address: string;
  userAgent: string;
}

export interface LiveHttp {
  /** A response for paths under /live, undefined for others. */
  handle(
    method: string,
    url: string,
    viewer: Viewer,
    signal?: AbortSignal,
  ): Promise<OriginResponse | undefined>;
  /** For node:http; `trustProxy` takes the viewer's address from X-Forwarded-For. */
  listener(trustProxy: boolean): (req: IncomingMessage, res: ServerResponse) => void;
}

/** How long a playlist request waits for a broadcast that was accepted but has no media yet. */
const STARTUP_WAIT_MS = 8_000;
const THUMBNAIL = /^\/live\/([A-Za-z0-9_-]{1,64})\/thumbnail\.jpg$/;
const PLAYLIST = /^\/live\/([A-Za-z0-9_-]{1,64})\/(?:[A-Za-z0-9_-]{1,32}\/index|master)\.m3u8$/;

export function createLiveHttp(ingest: IngestService): LiveHttp {
  const origin = createHlsOrigin({ streams: ingest.streams, prefix: '/live' });
  const handle: LiveHttp['handle'] = async (method, url, viewer, signal) => {
    const path = url.split('?')[0] ?? url;
    const thumb = THUMBNAIL.exec(path);
    if (thumb && (method === 'GET' || method === 'HEAD')) {
      const found = ingest.thumbnail(thumb[1]!);
      if (!found) {
        return {
          status: 404,
          headers: { 'content-type': 'application/json', 'cache-control': 'no-cache' },
          body: JSON.stringify({
            error: { code: 'not_found', message: 'no thumbnail for this channel yet' },
          }),
        };
      }
      return {
        status: 200,
        headers: {
          'content-type': 'image/jpeg',
          'cache-control': 'public, max-age=10',
          'access-control-allow-origin': '*',
        },
        body: found.jpeg,
      };
    }
    const playlist = PLAYLIST.exec(path);
    if (playlist && method === 'GET') {
      ingest.viewers.seen(playlist[1]!, viewer.address, viewer.userAgent);
      if (!ingest.streams.has(playlist[1]!))
        await ingest.waitForStream(playlist[1]!, STARTUP_WAIT_MS, signal);
    }
    return origin.handle(method, url, signal);
  };
  return {
    handle,
    listener: (trustProxy) => (req, res) => {
      const forwarded = trustProxy
        ? String(req.headers['x-forwarded-for'] ?? '')
            .split(',')[0]
            ?.trim()
        : '';
      const viewer = {
        address: forwarded || req.socket.remoteAddress || '',
        userAgent: req.headers['user-agent'] ?? '',
      };
      const ac = new AbortController();
      // 'close' also follows every completed response: only a client gone before the end is an abort.
      res.once('close', () => {
        if (!res.writableFinished) ac.abort();
      });
      handle(req.method ?? 'GET', req.url ?? '/', viewer, ac.signal).then(
        (out) => {
          if (!out) {
            res.writeHead(404, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: { code: 'not_found', message: 'not found' } }));
            return;
          }
          res.writeHead(out.status, out.headers);
          res.end(req.method === 'HEAD' ? undefined : out.body);
        },
        () => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'internal', message: 'internal error' } }));
        },
      );
    },
  };
}
