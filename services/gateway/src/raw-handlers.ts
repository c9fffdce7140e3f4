/**
 * Endpoints that must see the raw request before any body parsing: tus
 * uploads stream large bodies straight to storage. In the all-in-one process
 * the uploads service's handler runs in-process; distributed, the request is
 * piped to an uploads instance.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';

export interface RawHandler {
  /** Answers and returns true for its own paths; returns false, touching nothing, otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Pipes requests under `prefix` to `target` (e.g. http://uploads:8082), bodies streamed both ways. */
export function rawProxy(prefix: string, target: string): RawHandler {
  const base = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  return {
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (path !== prefix && !path.startsWith(`${prefix}/`)) return false;
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
      }
      const forwarded = req.headers['x-forwarded-for'];
      headers['x-forwarded-for'] = [forwarded, req.socket.remoteAddress].filter(Boolean).join(', ');
      const upstream = http.request(
        {
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
        },
        (answer) => {
          const out: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(answer.headers)) {
            if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
          }
          res.writeHead(answer.statusCode ?? 502, out);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) {
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
          res.end(
            JSON.stringify({
              error: { code: 'unavailable', message: 'the uploads service does not answer' },
            }),
          );
        } else {
          res.destroy();
        }
      });
      req.pipe(upstream);
      res.on('close', () => upstream.destroy());
      return true;
    },
  };
}
