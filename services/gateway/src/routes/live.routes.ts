import { AppError } from '@wavecast/kit/errors';
import type { LiveBackend } from '../live-backend.ts';
import type { TypedApp } from '../typed.ts';

/** Live playback: LL-HLS playlists, segments, parts and thumbnails of live channels. */
export function liveRoutes(app: TypedApp, live: LiveBackend) {
  app.route({
    method: ['GET', 'HEAD'],
    url: '/live/*',
    // Players reload playlists several times a second; the origin is built for it.
    config: { rateLimit: false },
    schema: { hide: true },
    handler: async (request, reply) => {
      const ac = new AbortController();
      // 'close' also follows every completed response: only a client gone before the end is an abort
      // (it frees a blocked playlist or part request; each abort costs a DOMException with a stack).
      const res = reply.raw;
      res.once('close', () => {
        if (!res.writableFinished) ac.abort();
      });
      const out = await live.handle(
        request.method,
        request.url,
        { address: request.ip, userAgent: request.headers['user-agent'] ?? '' },
        ac.signal,
      );
      if (!out) throw new AppError('not_found', 'no such live resource');
      return reply.code(out.status).headers(out.headers).send(out.body);
    },
  });
}
