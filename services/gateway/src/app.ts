import http from 'node:http';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { acceptRequestId, REQUEST_ID_HEADER, runWithContext } from '@wavecast/kit/context';
import { AppError } from '@wavecast/kit/errors';
import { httpRecorder } from '@wavecast/kit/metrics';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { channelSchemas } from './channel.schemas.ts';
import type { GatewayDeps } from './deps.ts';
import { type Audience, audiences, splitDocument } from './openapi.ts';
import { authHooks } from './plugins/auth.ts';
import { corsPolicy, registerPreflight } from './plugins/cors.ts';
import { registerErrorHandling } from './plugins/errors.ts';
import { cacheRateLimitStore } from './plugins/rate-limit-store.ts';
import { staticHeaderSetter } from './plugins/static-headers.ts';
import { adminRoutes } from './routes/admin.routes.ts';
import { authRoutes } from './routes/auth.routes.ts';
import { channelRoutes } from './routes/channels.routes.ts';
import { liveRoutes } from './routes/live.routes.ts';
import { mediaRoutes } from './routes/media.routes.ts';
import { rtmpHookRoutes } from './routes/rtmp-hooks.routes.ts';
import { systemRoutes } from './routes/system.routes.ts';
import { uploadRoutes } from './routes/uploads.routes.ts';
import { userRoutes } from './routes/users.routes.ts';
import { videoRoutes } from './routes/videos.routes.ts';
import { sharedSchemas } from './schemas.ts';
import type { TypedApp } from './typed.ts';
import { uploadSchemas } from './upload.schemas.ts';
import { videoSchemas } from './video.schemas.ts';

export const API_VERSION = '0.1.0';

/**
 * Security headers on every response, computed once. An API answers JSON, so
 * these are the ones OWASP's REST guidance lists for API responses: no MIME
 * sniffing, HTTPS only, never framed, and a policy that lets a response load
 * nothing should a browser ever render it. Headers that only steer HTML
 * documents (referrer, opener and Flash policies) are left out; the docs UI
 * sets its own Content-Security-Policy, and media and live responses add
 * `cross-origin-resource-policy` for players on other sites.
 */
const securityHeaders = {
  'x-content-type-options': 'nosniff',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
} as const;

/** Builds the gateway (routes, hooks, docs) without listening: tests inject, main listens. */
export async function buildGateway(deps: GatewayDeps): Promise<TypedApp> {
  const { config } = deps;
  if (config.playbackMode === 's3-presigned' && !deps.storage.presignGet) {
    throw new AppError(
      'invalid_argument',
      'PLAYBACK_MODE=s3-presigned needs S3 storage (STORAGE_URL=s3://…)',
    );
  }
  const raw = deps.raw ?? [];
  const app = Fastify({
    // Raw handlers (tus uploads) see the request first; long uploads must not hit a request timeout.
    serverFactory: (handler) => {
      const server = http.createServer((req, res) => {
        for (const r of raw) if (r.handle(req, res)) return;
        handler(req, res);
      });
      server.requestTimeout = 0;
      return server;
    },
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Metrics and the error handler record requests; a log line per request would drown the rest.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    requestIdHeader: false,
    genReqId: (req) => acceptRequestId(req.headers[REQUEST_ID_HEADER]),
    // request.log is the service logger itself: its mixin already adds the request id,
    // and a child logger per request costs more than the rest of a cached read.
    childLoggerFactory: (logger) => logger,
    // verbose: errors carry their schema, so a failed pattern is explained by its description.
    ajv: {
      customOptions: {
        removeAdditional: false,
        allErrors: true,
        coerceTypes: 'array',
        useDefaults: true,
        verbose: true,
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const corsOptions = {
    origins: config.corsOrigins,
    exposedHeaders: [
      REQUEST_ID_HEADER,
      'retry-after',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
    ],
    maxAgeSeconds: 600,
  };
  const cors = corsPolicy(corsOptions);
  const setStaticHeaders = staticHeaderSetter({ ...securityHeaders, ...cors.staticHeaders });
  const corsPerRequest = cors.perRequest;
  const edgeHeaders = (request: FastifyRequest, reply: FastifyReply) => {
    setStaticHeaders(reply, request.id);
    if (corsPerRequest) corsPerRequest(request, reply);
  };
  // The request id's async context (for logs and RPC metadata) is entered
  // before the route's own hooks, unless the route enters it itself where it
  // needs it (`config.requestContext: 'handler'`): a context costs every
  // tick and promise of the request, and a hot read answered from memory
  // uses neither a log line nor an RPC.
  const inContext = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    edgeHeaders(request, reply);
    runWithContext({ requestId: request.id }, done);
  };
  const headersOnly = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    edgeHeaders(request, reply);
    done();
  };

  // Each route gets its edge and metrics hooks when it is added, so a request
  // runs only its route's hooks and costs no metric label lookup. Requests
  // that match no route get the same headers from the 404 handler and go
  // under "unmatched" in the metrics.
  const recorder = httpRecorder(deps.metrics, 'gateway');
  app.addHook('onRoute', (route) => {
    const edge = route.config?.requestContext === 'handler' ? headersOnly : inContext;
    route.onRequest = [edge, ...[route.onRequest ?? []].flat()];
    const record = recorder.route(route.url);
    const hook = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      record(request.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
    route.onResponse = [...[route.onResponse ?? []].flat(), hook];
  });

  registerPreflight(app, corsOptions);

  const recordUnmatched = recorder.route('unmatched');
  registerErrorHandling(app, config.bodyLimitBytes, {
    before: edgeHeaders,
    after: (request, reply) => recordUnmatched(request.method, reply.statusCode, reply.elapsedTime / 1000),
  });
  for (const schema of [...sharedSchemas, ...channelSchemas, ...videoSchemas, ...uploadSchemas]) {
    app.addSchema(schema);
  }

  await app.register(rateLimit, {
    // 0 turns the per-client limit off (e.g. behind a load balancer that limits); per-route limits stay.
    global: config.rateLimitPerMinute > 0,
    max: config.rateLimitPerMinute || 1e9,
    timeWindow: 60_000,
    store: cacheRateLimitStore(deps.cache),
    enableDraftSpec: true,
    errorResponseBuilder: (_request, ctx) =>
      new AppError('resource_exhausted', `too many requests; retry in ${ctx.after}`, {
        retryAfterSeconds: Math.max(1, Math.ceil(ctx.ttl / 1000)),
      }),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Wavecast API',
        version: API_VERSION,
        description: 'Live streaming and video on demand.',
        license: { name: 'AGPL-3.0-only', identifier: 'AGPL-3.0-only' },
      },
      ...(config.publicUrl && { servers: [{ url: config.publicUrl }] }),
      tags: [
        { name: 'auth', description: 'Accounts and sessions: register, log in, refresh, log out' },
        { name: 'me', description: 'Your own account' },
        { name: 'users', description: 'Public profiles' },
        { name: 'channels', description: 'Channels and the live directory' },
        { name: 'videos', description: 'Videos on demand: upload, catalog, search, playback' },
        { name: 'admin', description: 'Administration; needs the admin role' },
        {
          name: 'hooks',
          description: 'Callbacks for an RTMP server in front of Wavecast (nginx-rtmp, SRS); for operators',
        },
        { name: 'system', description: 'Keys, health and metrics' },
      ],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  const hooks = authHooks(app, deps.verifier);
  systemRoutes(app, deps);
  authRoutes(app, deps, hooks);
  userRoutes(app, deps, hooks);
  adminRoutes(app, deps, hooks);
  channelRoutes(app, deps, hooks);
  liveRoutes(app, deps.live);
  videoRoutes(app, deps, hooks);
  uploadRoutes(app, deps, hooks);
  mediaRoutes(app, deps);
  await rtmpHookRoutes(app, deps);
  registerDocs(app);

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    uiConfig: {
      urls: audiences.map((a) => ({ url: `/docs/openapi/${a}.json`, name: a })),
      'urls.primaryName': 'public',
    } as Record<string, unknown>,
  });
  await app.ready();
  return app;
}

/** Serves the split documents at /docs/openapi/{audience}.json, built from the live routes. */
function registerDocs(app: TypedApp) {
  let docs: Record<Audience, unknown> | undefined;
  app.get<{ Params: { audience: string } }>(
    '/docs/openapi/:audience.json',
    { schema: { hide: true }, config: { rateLimit: false } },
    async (request) => {
      docs ??= splitDocument(app.swagger());
      const doc = docs[request.params.audience as Audience];
      if (!doc)
        throw new AppError(
          'not_found',
          `no document "${request.params.audience}"; try public, private or admin`,
        );
      return doc;
    },
  );
}
