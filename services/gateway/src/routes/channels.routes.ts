import { LiveOrder } from '@wavecast/contracts/gen/wavecast/channels/v1/channels_pb.js';
import { AppError } from '@wavecast/kit/errors';
import type { AccessClaims } from '@wavecast/kit/tokens';
import Type from 'typebox';
import { ChannelNameParams, ChannelPatchBody, LiveListQuery } from '../channel.schemas.ts';
import { liveChannel, privateChannel, publicChannel } from '../channel.views.ts';
import type { GatewayDeps } from '../deps.ts';
import { caller } from '../plugins/auth.ts';
import { errorResponses } from '../schemas.ts';
import type { AuthHooks, TypedApp } from '../typed.ts';

const mine = { 'x-audience': 'private', tags: ['me'], security: [{ bearerAuth: [] }] };
const open = { 'x-audience': 'public', tags: ['channels'], security: [] };

const noChannel = () => new AppError('internal', 'channels service returned no channel');

export function channelRoutes(app: TypedApp, deps: GatewayDeps, hooks: AuthHooks) {
  const ingestUrl = deps.config.rtmpPublicUrl;
  /** The caller's channel and key; the channels service creates the channel on first use. */
  const own = async (claims: AccessClaims) => {
    const res = await deps.channels.getOwnChannel({ ownerId: claims.sub, username: claims.name });
    if (!res.channel) throw noChannel();
    return { channel: res.channel, streamKey: res.streamKey };
  };

  app.get(
    '/v1/me/channel',
    {
      preHandler: hooks.authenticate,
      schema: {
        ...mine,
        operationId: 'getMyChannel',
        summary: 'Your channel, with where and how to stream (created on first use)',
        response: { 200: Type.Ref('PrivateChannel'), ...errorResponses(401, 412) },
      },
    },
    async (request, reply) => {
      const { channel, streamKey } = await own(caller(request));
      reply.header('cache-control', 'no-store');
      return privateChannel(channel, streamKey, ingestUrl);
    },
  );

  app.patch(
    '/v1/me/channel',
    {
      preHandler: hooks.authenticate,
      schema: {
        ...mine,
        operationId: 'updateMyChannel',
        summary: 'Change your channel title or category',
        body: ChannelPatchBody,
        response: { 200: Type.Ref('PrivateChannel'), ...errorResponses(400, 401, 412, 413) },
      },
    },
    async (request, reply) => {
      const { streamKey } = await own(caller(request));
      const { channel } = await deps.channels.updateChannel({
        ownerId: caller(request).sub,
        title: request.body.title,
        category: request.body.category,
      });
      if (!channel) throw noChannel();
      reply.header('cache-control', 'no-store');
      return privateChannel(channel, streamKey, ingestUrl);
    },
  );

  app.post(
    '/v1/me/channel/stream-key',
    {
      preHandler: hooks.authenticate,
      schema: {
        ...mine,
        operationId: 'rotateMyStreamKey',
        summary: 'Replace your stream key; the old one stops working at once',
        description: 'A stream that is live goes on; the next publish needs the new key.',
        response: { 200: Type.Ref('PrivateChannel'), ...errorResponses(401) },
      },
    },
    async (request, reply) => {
      await own(caller(request));
      const res = await deps.channels.rotateStreamKey({ ownerId: caller(request).sub });
      if (!res.channel) throw noChannel();
      reply.header('cache-control', 'no-store');
      return privateChannel(res.channel, res.streamKey, ingestUrl);
    },
  );

  app.get(
    '/v1/channels/:name',
    {
      schema: {
        ...open,
        operationId: 'getChannel',
        summary: 'A channel and whether it is live',
        params: ChannelNameParams,
        response: { 200: Type.Ref('PublicChannel'), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { channel } = await deps.channels.getChannel({ name: request.params.name });
      if (!channel) throw noChannel();
      reply.header('cache-control', 'public, max-age=5');
      return publicChannel(channel);
    },
  );

  app.get(
    '/v1/live',
    {
      schema: {
        ...open,
        operationId: 'listLive',
        summary: 'Live channels, most viewers first (or newest first)',
        querystring: LiveListQuery,
        response: { 200: Type.Ref('LiveList'), ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const res = await deps.channels
        .listLive({
          pageSize: q.limit ?? 20,
          pageToken: q.cursor ?? '',
          order: q.sort === 'newest' ? LiveOrder.NEWEST : LiveOrder.VIEWERS,
        })
        .catch((err: unknown) => {
          // The service names its own field; here it is the cursor.
          if (AppError.is(err, 'invalid_argument')) {
            throw new AppError('invalid_argument', 'cursor is not a cursor of this listing', {
              fields: [{ field: 'cursor', message: 'is not a cursor of this listing' }],
            });
          }
          throw err;
        });
      reply.header('cache-control', 'public, max-age=5');
      return { channels: res.channels.map(liveChannel), next_cursor: res.nextPageToken || null };
    },
  );
}
