import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TypedApp } from '../typed.ts';

/** Every method the API has, so a browser app may PATCH a profile or DELETE a video. */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';

export interface CorsOptions {
  /** Origins allowed to read responses; `*` allows any. */
  origins: readonly string[];
  /** Response headers a browser script may read. */
  exposedHeaders: readonly string[];
  /** How long a browser may cache a preflight answer. */
  maxAgeSeconds: number;
}

export interface Cors {
  /** Headers that are the same on every response (with `*`: the whole CORS answer). */
  readonly staticHeaders: Readonly<Record<string, string>>;
  /** Adds the headers that depend on the request's Origin; undefined when none do. */
  readonly perRequest: ((request: FastifyRequest, reply: FastifyReply) => void) | undefined;
}

/**
 * CORS for the public API. With `*` every response carries the same headers,
 * so they join the static headers the gateway writes anyway and cost nothing
 * per request. With a list, a listed Origin is reflected, and `Vary: Origin`
 * tells caches the answer depends on it.
 */
export function corsPolicy(opts: CorsOptions): Cors {
  const anyOrigin = opts.origins.includes('*');
  const allowed = new Set(opts.origins);
  const exposed = opts.exposedHeaders.join(', ');
  if (anyOrigin) {
    return {
      staticHeaders: { 'access-control-allow-origin': '*', 'access-control-expose-headers': exposed },
      perRequest: undefined,
    };
  }
  return {
    staticHeaders: { vary: 'Origin' },
    perRequest: (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined || !allowed.has(origin)) return;
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-expose-headers', exposed);
    },
  };
}

/**
 * Preflights (OPTIONS with an Origin and Access-Control-Request-Method) are
 * answered 204 by one route, before any authentication: browsers send them
 * without credentials.
 */
export function registerPreflight(app: TypedApp, opts: Pick<CorsOptions, 'maxAgeSeconds'>): void {
  app.options('*', { schema: { hide: true } }, (request, reply) => {
    if (!request.headers.origin || !request.headers['access-control-request-method']) {
      return reply
        .code(400)
        .type('text/plain; charset=utf-8')
        .send('Invalid preflight request: it needs Origin and Access-Control-Request-Method headers');
    }
    reply.header('access-control-allow-methods', ALLOWED_METHODS);
    const requested = request.headers['access-control-request-headers'];
    if (requested !== undefined) reply.header('access-control-allow-headers', requested);
    appendVary(reply, 'Access-Control-Request-Headers');
    reply.header('access-control-max-age', String(opts.maxAgeSeconds));
    // Safari waits for a body on a 204 without a length.
    return reply.code(204).header('content-length', '0').send();
  });
}

function appendVary(reply: FastifyReply, field: string): void {
  const current = reply.getHeader('vary');
  reply.header('vary', current ? `${current}, ${field}` : field);
}
