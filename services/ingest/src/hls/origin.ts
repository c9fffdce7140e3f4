/**
 * The HLS origin: serves playlists, init segments, segments and parts of the
 * live streams in a registry, with LL-HLS blocking playlist reloads and
 * blocking preload-hinted parts. Framework-free: `handle(method, url)`
 * returns a response object (for Fastify or anything else); `listener`
 * plugs into a bare `node:http` server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, httpStatus } from '@wavecast/kit/errors';
import type { Logger } from '@wavecast/kit/log';
import type { RenditionPackager } from './packager.ts';
import { mediaPlaylistUri, renderMasterPlaylist, renderMediaPlaylist, type Variant } from './playlist.ts';

export interface LiveStreamSource {
  readonly renditions: ReadonlyMap<string, RenditionPackager>;
}

export interface OriginOptions {
  /** Channel name → stream; read on every request, so streams come and go. */
  streams: ReadonlyMap<string, LiveStreamSource>;
  /** URL path prefix, default `/live`. */
  prefix?: string;
  log?: Logger;
}

export interface OriginResponse {
  status: number;
  /** Complete (content-length included); may be shared between responses: never modify it. */
  headers: Record<string, string>;
  body: Buffer | string;
}

export interface HlsOrigin {
  /** The response for a request under the prefix; undefined for any other path. */
  handle(method: string, url: string, signal?: AbortSignal): Promise<OriginResponse | undefined>;
  /** For `http.createServer`: answers and returns true for paths under the prefix, else returns false. */
  listener(req: IncomingMessage, res: ServerResponse): boolean;
}

const PLAYLIST = 'application/vnd.apple.mpegurl';
const NO_CACHE = 'no-cache';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const route =
  /^\/([A-Za-z0-9_-]{1,64})\/(?:(master)\.m3u8|([A-Za-z0-9_-]{1,32})\/(?:(index)\.m3u8|init-(\d{1,15})\.mp4|seg-(\d{1,15})\.m4s|part-(\d{1,15})\.(\d{1,5})\.m4s))$/;
// Players on any site, including pages that isolate themselves (COEP).
const cors = { 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' };

function ok(body: Buffer, type: string, cache: string): OriginResponse {
  const headers = {
    'content-type': type,
    'cache-control': cache,
    ...cors,
    'content-length': String(body.length),
  };
  return { status: 200, headers, body };
}

function failure(status: number, code: string, message: string): OriginResponse {
  const body = JSON.stringify({ error: { code, message } });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': NO_CACHE,
    ...cors,
    'content-length': String(Buffer.byteLength(body)),
  };
  if (status === 503) headers['retry-after'] = '1';
  return { status, headers, body };
}

/**
 * A rendered playlist and the packager revisions it was rendered from (every rendition of the
 * stream: media playlists carry the others' rendition reports). Playlists change a few times a
 * second and are requested far more often, so each one is rendered once per change.
 */
interface Rendered {
  revisions: number[];
  response: OriginResponse;
}

function revisionsOf(stream: LiveStreamSource): number[] {
  const revisions: number[] = [];
  for (const p of stream.renditions.values()) revisions.push(p.revision);
  return revisions;
}

function isCurrent(cached: Rendered | undefined, stream: LiveStreamSource): cached is Rendered {
  if (!cached || cached.revisions.length !== stream.renditions.size) return false;
  let i = 0;
  for (const p of stream.renditions.values()) if (cached.revisions[i++] !== p.revision) return false;
  return true;
}

/** `_HLS_msn` / `_HLS_part`: absent, or a non-negative integer. */
function directive(query: URLSearchParams | undefined, name: string): number | undefined {
  const value = query ? query.get(name) : null;
  if (value === null) return undefined;
  if (!/^\d{1,15}$/.test(value))
    throw new AppError('invalid_argument', `${name} must be a non-negative integer`);
  return Number(value);
}

/** Blocking waits give up after three target durations, as the LL-HLS spec asks. */
function deadline(packager: RenditionPackager, signal: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(3 * packager.targetDuration * 1000);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

export function createHlsOrigin(options: OriginOptions): HlsOrigin {
  const prefix = options.prefix ?? '/live';
  const { streams, log } = options;
  const masters = new WeakMap<LiveStreamSource, Rendered>();
  const medias = new WeakMap<RenditionPackager, Rendered>();
  const deltas = new WeakMap<RenditionPackager, Rendered>();

  async function master(stream: LiveStreamSource, signal?: AbortSignal): Promise<OriginResponse> {
    const variants = () =>
      [...stream.renditions].flatMap(([name, p]) => p.variant(mediaPlaylistUri(name)) ?? []) as Variant[];
    const packagers = [...stream.renditions.values()];
    const first = packagers[0];
    if (first && packagers.some((p) => !p.hasMedia)) {
      // Starting: players read the master once, so give every rendition a moment to show up in it.
      const wait = deadline(first, signal);
      await Promise.all(packagers.map((p) => p.waitForMedia(wait))).catch(() => {
        if (signal?.aborted) throw signal.reason;
      });
    }
    const cached = masters.get(stream);
    if (isCurrent(cached, stream)) return cached.response;
    const revisions = revisionsOf(stream);
    const list = variants();
    if (list.length === 0) throw new AppError('unavailable', 'the stream has not started');
    const response = ok(Buffer.from(renderMasterPlaylist(list)), PLAYLIST, NO_CACHE);
    masters.set(stream, { revisions, response });
    return response;
  }

  async function media(
    stream: LiveStreamSource,
    packager: RenditionPackager,
    query: URLSearchParams | undefined,
    signal?: AbortSignal,
  ): Promise<OriginResponse> {
    const msn = directive(query, '_HLS_msn');
    const part = directive(query, '_HLS_part');
    if (part !== undefined && msn === undefined)
      throw new AppError('invalid_argument', '_HLS_part needs _HLS_msn');
    const skip = query?.get('_HLS_skip');
    if (skip != null && skip !== 'YES' && skip !== 'v2')
      throw new AppError('invalid_argument', '_HLS_skip must be YES or v2');
    if (msn !== undefined && !packager.ended && !packager.reached(msn, part)) {
      if (msn > packager.lastCompleteMsn + 2) {
        throw new AppError('invalid_argument', '_HLS_msn is more than two segments ahead of the playlist');
      }
      await packager.waitFor(msn, part, deadline(packager, signal)).catch((err) => {
        if (!packager.ended) throw err; // an ended stream answers with its final playlist
      });
    }
    if (!packager.hasMedia) await packager.waitForMedia(deadline(packager, signal));
    // Rendered for the packagers' state now: a blocked request wakes up to the change it waited for.
    const cache = skip ? deltas : medias;
    const cached = cache.get(packager);
    if (isCurrent(cached, stream)) return cached.response;
    const revisions = revisionsOf(stream);
    const reports = [...stream.renditions].flatMap(([name, other]) => {
      const last = other.lastPart;
      return other === packager || !last ? [] : [{ uri: `../${mediaPlaylistUri(name)}`, ...last }];
    });
    const text = renderMediaPlaylist(packager.playlist()!, reports, skip != null);
    const response = ok(Buffer.from(text), PLAYLIST, NO_CACHE);
    cache.set(packager, { revisions, response });
    return response;
  }

  async function segment(
    packager: RenditionPackager,
    msn: number,
    signal?: AbortSignal,
  ): Promise<OriginResponse> {
    if (!packager.segmentBytes(msn) && packager.isUpcoming(msn)) {
      await packager.waitFor(msn, undefined, deadline(packager, signal));
    }
    const bytes = packager.segmentBytes(msn);
    if (!bytes) throw new AppError('not_found', `no segment ${msn}`);
    return ok(bytes, 'video/iso.segment', IMMUTABLE);
  }

  async function part(packager: RenditionPackager, msn: number, index: number, signal?: AbortSignal) {
    const hint = packager.preloadHint;
    if (!packager.partBytes(msn, index) && hint?.msn === msn && hint.part === index) {
      await packager.waitFor(msn, index, deadline(packager, signal));
    }
    // A hinted part can fail to appear: the segment closed before it, and the next one took its place.
    const bytes = packager.partBytes(msn, index);
    if (!bytes) throw new AppError('not_found', `no part ${msn}.${index}`);
    return ok(bytes, 'video/iso.segment', IMMUTABLE);
  }

  async function respond(method: string, path: string, query: string | undefined, signal?: AbortSignal) {
    if (method === 'OPTIONS') {
      const headers = {
        'access-control-allow-methods': 'GET, HEAD, OPTIONS',
        'access-control-max-age': '86400',
      };
      return { status: 204, headers: { ...headers, ...cors, 'content-length': '0' }, body: '' };
    }
    if (method !== 'GET' && method !== 'HEAD') {
      const refused = failure(405, 'method_not_allowed', 'use GET');
      return { ...refused, headers: { ...refused.headers, allow: 'GET, HEAD, OPTIONS' } };
    }
    const m = route.exec(path.slice(prefix.length));
    const stream = m ? streams.get(m[1]!) : undefined;
    if (!m || !stream) throw new AppError('not_found', 'no such stream');
    const [, , isMaster, rendition, isIndex, init, seg, partMsn, partIndex] = m;
    if (isMaster) return master(stream, signal);
    const packager = stream.renditions.get(rendition!);
    if (!packager) throw new AppError('not_found', 'no such rendition');
    if (isIndex) return media(stream, packager, query ? new URLSearchParams(query) : undefined, signal);
    if (seg) return segment(packager, Number(seg), signal);
    if (partMsn) return part(packager, Number(partMsn), Number(partIndex), signal);
    const bytes = packager.initBytes(Number(init));
    if (!bytes) throw new AppError('not_found', `no init segment ${init}`);
    return ok(bytes, 'video/mp4', IMMUTABLE);
  }

  async function handle(
    method: string,
    url: string,
    signal?: AbortSignal,
  ): Promise<OriginResponse | undefined> {
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (!path.startsWith(`${prefix}/`)) return undefined;
    let response: OriginResponse;
    try {
      response = await respond(method, path, q < 0 ? undefined : url.slice(q + 1), signal);
    } catch (err) {
      response = errorResponse(err, log);
    }
    return method === 'HEAD' ? { ...response, body: '' } : response;
  }

  function listener(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '/';
    if (!url.startsWith(`${prefix}/`)) return false;
    const aborted = new AbortController();
    // 'close' also follows every completed response: only a client gone before the end is an abort.
    res.once('close', () => {
      if (!res.writableFinished) aborted.abort();
    });
    handle(req.method ?? 'GET', url, aborted.signal).then(
      (response) => {
        if (!response || res.destroyed) return;
        res.writeHead(response.status, response.headers).end(response.body);
      },
      (err: unknown) => {
        log?.error({ err }, 'HLS origin failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      },
    );
    return true;
  }

  return { handle, listener };
}

function errorResponse(err: unknown, log: Logger | undefined): OriginResponse {
  if (err instanceof Error && err.name === 'TimeoutError') {
    return failure(503, 'unavailable', 'not available yet; retry');
  }
  if (err instanceof Error && err.name === 'AbortError') return failure(499, 'cancelled', 'client went away');
  if (AppError.is(err)) return failure(httpStatus(err.code), err.code, err.message);
  log?.error({ err }, 'HLS origin failed');
  return failure(500, 'internal', 'internal error');
}
