import { createHash, timingSafeEqual } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AppError } from '@wavecast/kit/errors';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { RtmpHookBody, type RtmpHookFields, RtmpHookQuery } from '../channel.schemas.ts';
import type { GatewayDeps } from '../deps.ts';
import { errorResponses } from '../schemas.ts';
import type { TypedApp } from '../typed.ts';

const hook = {
  'x-audience': 'admin',
  tags: ['hooks'],
  security: [],
  consumes: ['application/x-www-form-urlencoded', 'application/json'],
  querystring: RtmpHookQuery,
  body: RtmpHookBody,
};

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The stream key and connection from nginx-rtmp's form fields or SRS's JSON. */
function publisherOf(body: RtmpHookFields | undefined) {
  const streamKey = body?.name ?? body?.stream ?? '';
  if (!streamKey) {
    throw new AppError('invalid_argument', 'name is required', {
      fields: [{ field: 'name', message: 'is required' }],
    });
  }
  return {
    streamKey,
    clientAddr: (body?.addr ?? body?.ip ?? '').slice(0, 100),
    connectionId: String(body?.clientid ?? body?.client_id ?? '').slice(0, 200),
  };
}

/**
 * Callbacks for an RTMP server put in front of Wavecast (nginx-rtmp's
 * on_publish / on_publish_done, SRS's on_publish / on_unpublish): a 2xx
 * answer lets the publisher in, anything else refuses it (403 for a bad
 * key). The RTMP server's address names the ingest node, so several servers
 * can share one channels service.
 */
export async function rtmpHookRoutes(app: TypedApp, deps: GatewayDeps) {
  const expected = deps.config.rtmpHookSecret ? digest(deps.config.rtmpHookSecret) : undefined;
  const checkSecret = (request: FastifyRequest<{ Querystring: { secret?: string } }>) => {
    if (!expected) return;
    const given = request.query.secret;
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      throw new AppError('unauthenticated', 'the hook secret is missing or wrong');
    }
  };
  const ingestNode = (request: FastifyRequest) => `rtmp-hook@${request.ip}`;

  // Form bodies are parsed only here: everywhere else the API takes JSON alone.
  await app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>();
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );

    scope.post(
      '/v1/hooks/rtmp/on_publish',
      {
        config: { rateLimit: false },
        schema: {
          ...hook,
          operationId: 'rtmpOnPublish',
          summary: 'May this stream key publish? (nginx-rtmp on_publish, SRS on_publish)',
          description:
            'Form fields as nginx-rtmp sends them (`name` is the stream key; also `app`, `addr`, `clientid`, `call`), ' +
            'or SRS JSON (`stream`, `ip`, `client_id`). 2xx allows; 403 refuses a bad key or a banned owner; ' +
            '412 refuses a second publisher. When RTMP_HOOK_SECRET is set, pass it as `?secret=`.',
          response: { 200: Type.Ref('RtmpHookReply'), ...errorResponses(400, 401, 403, 412) },
        },
      },
      async (request) => {
        checkSecret(request);
        const publisher = publisherOf(request.body);
        const res = await deps.channels.authorizePublish({ ...publisher, ingestNode: ingestNode(request) });
        return { code: 0, channel: res.channel?.name ?? '', session_id: res.sessionId, resumed: res.resumed };
      },
    );

    scope.post(
      '/v1/hooks/rtmp/on_publish_done',
      {
        config: { rateLimit: false },
        schema: {
          ...hook,
          operationId: 'rtmpOnPublishDone',
          summary:
            'The publisher stopped: end its live session (nginx-rtmp on_publish_done, SRS on_unpublish)',
          description: 'Same fields as on_publish. Ending a session that already ended is fine.',
          response: { 200: Type.Ref('RtmpHookReply'), ...errorResponses(400, 401, 404, 412) },
        },
      },
      async (request) => {
        checkSecret(request);
        const publisher = publisherOf(request.body);
        const res = await deps.channels.endSession({
          session: { case: 'streamKey', value: publisher.streamKey },
          reason: 'publisher_disconnected',
          ingestNode: ingestNode(request),
          connectionId: publisher.connectionId,
        });
        return { code: 0, session_id: res.sessionId };
      },
    );
  });
}
