/**
 * VOD delivery: `/media/…` objects from the storage port, for players.
 * Byte ranges (206/416), content types by extension, ETags, CORS for any
 * origin, manifests cached briefly and everything else for a year
 * (`immutable`: the encoder never rewrites an output under the same key).
 * Signed paths are checked against CATALOG_PLAYBACK_SECRET; unsigned ones
 * only serve public READY videos. In `s3-presigned` mode only manifests are
 * streamed: the rest is a redirect to a presigned S3 URL.
 */

import { AppError } from '@wavecast/kit/errors';
import { contentTypeFor } from '@wavecast/kit/storage/rules';
import type { GatewayDeps } from '../deps.ts';
import { type MediaKind, type MediaPath, mediaKind, parseMediaPath } from '../media/media-path.ts';
import { PlaybackTokenVerifier } from '../media/playback-token.ts';
import { parseRange } from '../media/range.ts';
import type { TypedApp } from '../typed.ts';

const YEAR = 31_536_000;
const MANIFEST_SECONDS = 10;
// Media is for any player on any site, whatever CORS_ORIGINS says for the API:
// these replace the API's CORS headers on every media response.
const CORS = {
  'access-control-allow-origin': '*',
  // A page that isolates itself (COEP) may still embed the video.
  'cross-origin-resource-policy': 'cross-origin',
  'access-control-expose-headers': 'content-length, content-range, accept-ranges, etag',
};

/** How long a response may be cached, and by whom; `remaining` is the signed URL's life left. */
function cacheControl(kind: MediaKind, remaining: number | undefined): string {
  const scope = remaining === undefined ? 'public' : 'private';
  if (kind === 'manifest') return `${scope}, max-age=${MANIFEST_SECONDS}`;
  // A cached copy must not outlive the signature it was fetched with.
  return `${scope}, max-age=${Math.min(YEAR, remaining ?? YEAR)}, immutable`;
}

export function mediaRoutes(app: TypedApp, deps: GatewayDeps) {
  const verifier = deps.config.playbackSecret && new PlaybackTokenVerifier(deps.config.playbackSecret);
  // buildGateway refused s3-presigned mode on storage without presignGet.
  const presign =
    deps.config.playbackMode === 's3-presigned' ? deps.storage.presignGet?.bind(deps.storage) : undefined;

  /** Seconds the signed URL has left; undefined for a public path. Throws when access is refused. */
  const authorize = async (media: MediaPath): Promise<number | undefined> => {
    const now = Math.floor(Date.now() / 1000);
    if (media.token === undefined) {
      if (!(await deps.publicVideos.isPublic(media.videoId)))
        throw new AppError('not_found', 'no such video');
      return undefined;
    }
    if (!verifier) {
      deps.logger.warn('a signed media path arrived but CATALOG_PLAYBACK_SECRET is not set');
      throw new AppError('unavailable', 'signed playback is not configured on this server');
    }
    const { result, exp } = verifier.check(media.videoId, media.token, now);
    if (result === 'expired')
      throw new AppError('unauthenticated', 'the playback URL expired; fetch the video again');
    if (result === 'invalid')
      throw new AppError('permission_denied', 'the playback URL is not valid for this video');
    return exp - now;
  };

  app.route({
    method: ['GET', 'HEAD'],
    url: '/media/*',
    // A player fetches a segment every few seconds; the storage reads are the cost, not the requests.
    // CORS is this route's own (any origin), not CORS_ORIGINS.
    config: { rateLimit: false },
    schema: { hide: true },
    handler: async (request, reply) => {
      reply.headers(CORS);
      const media = parseMediaPath(request.url);
      const kind = media && mediaKind(media.key);
      if (!media || !kind) throw new AppError('not_found', 'no such media object');
      const remaining = await authorize(media);

      if (presign && kind !== 'manifest') {
        const ttl = Math.max(
          1,
          Math.min(deps.config.playbackPresignSeconds, remaining ?? Number.MAX_SAFE_INTEGER),
        );
        return reply.header('cache-control', 'no-store').redirect(await presign(media.key, ttl), 302);
      }
      const info = await deps.storage.head(media.key);
      if (!info) throw new AppError('not_found', 'no such media object');
      const etag = `"${info.size.toString(36)}-${info.modifiedAt.getTime().toString(36)}"`;
      const lastModified = info.modifiedAt.toUTCString();
      // Only now: a refusal or a 404 must not be cached like the object.
      reply.headers({
        'cache-control': cacheControl(kind, remaining),
        'content-type': contentTypeFor(media.key),
        'accept-ranges': 'bytes',
        etag,
        'last-modified': lastModified,
      });
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();

      const ifRange = request.headers['if-range'];
      // A Range for another version of the object gets the whole current one.
      const sameVersion = ifRange === undefined || ifRange === etag || ifRange === lastModified;
      const range = sameVersion ? parseRange(request.headers.range, info.size) : { kind: 'full' as const };
      if (range.kind === 'unsatisfiable') {
        return reply.code(416).header('content-range', `bytes */${info.size}`).send();
      }
      const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, info.size - 1];
      if (range.kind === 'partial')
        reply.code(206).header('content-range', `bytes ${start}-${end}/${info.size}`);
      reply.header('content-length', String(Math.max(0, end - start + 1)));
      if (request.method === 'HEAD' || info.size === 0) return reply.send('');
      return reply.send(
        await deps.storage.get(media.key, range.kind === 'partial' ? { start, end } : undefined),
      );
    },
  });

  // Preflights (a Range header from another origin) are answered here for any origin, whatever CORS_ORIGINS says.
  app.options('/media/*', { config: { rateLimit: false }, schema: { hide: true } }, async (_request, reply) =>
    reply
      .code(204)
      .headers({
        ...CORS,
        'access-control-allow-methods': 'GET, HEAD, OPTIONS',
        'access-control-allow-headers': 'range, if-range, if-none-match',
        'access-control-max-age': '86400',
      })
      .send(),
  );
}
