import { createHash } from 'node:crypto';
import { Sort } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import { AppError } from '@wavecast/kit/errors';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { GatewayDeps } from '../deps.ts';
import { caller } from '../plugins/auth.ts';
import { errorResponses, type PublicUserView } from '../schemas.ts';
import type { AuthHooks, TypedApp } from '../typed.ts';
import {
  CreateVideoBody,
  OwnVideoListQuery,
  VideoIdParams,
  VideoListQuery,
  type VideoOwnerView,
  VideoPatchBody,
} from '../video.schemas.ts';
import { videoView, visibilities } from '../video.views.ts';
import { publicUser } from '../views.ts';

const mine = { 'x-audience': 'private', tags: ['videos'], security: [{ bearerAuth: [] }] };
const open = { 'x-audience': 'public', tags: ['videos'], security: [] };
/** Open to anyone; a token, when sent, lets owners see their own unlisted, private or unfinished videos. */
const openOrMine = {
  'x-audience': 'public',
  tags: ['videos'],
  security: [{}, { bearerAuth: [] }] as Record<string, string[]>[],
};

/** Where and how clients send the file (the uploads service speaks tus). */
const UPLOAD_URL = '/v1/uploads/';

const noVideo = () => new AppError('internal', 'catalog service returned no video');

/** The catalog names its own fields (page_token, query); here they are cursor and q. */
function renameFields(err: unknown): never {
  if (AppError.is(err, 'invalid_argument')) {
    const names: Record<string, string> = { page_token: 'cursor', query: 'q' };
    const fields = err.fields.map((f) => ({ ...f, field: names[f.field] ?? f.field }));
    throw new AppError(
      'invalid_argument',
      fields.map((f) => `${f.field} ${f.message}`).join('; ') || err.message,
      {
        fields,
      },
    );
  }
  throw err;
}

/** One viewer for view counting: the account when logged in, else the address and user agent. */
function viewerSession(request: FastifyRequest): string {
  const who = request.claims
    ? `user:${request.claims.sub}`
    : `anon:${request.ip}|${request.headers['user-agent'] ?? ''}`;
  return createHash('sha256').update(who).digest('base64url');
}

export function videoRoutes(app: TypedApp, deps: GatewayDeps, hooks: AuthHooks) {
  /** The owner's public profile from the profile cache; null when it is gone or unreachable. */
  const ownerOf = async (userId: string): Promise<VideoOwnerView | null> => {
    let profile: PublicUserView | undefined;
    try {
      const cached = await deps.profiles.get(userId);
      if (cached !== null) {
        profile = JSON.parse(cached) as PublicUserView;
      } else {
        const { user } = await deps.users.getUser({ key: { case: 'id', value: userId } });
        if (user) {
          profile = publicUser(user);
          await deps.profiles.put(user, JSON.stringify(profile));
        }
      }
    } catch (err) {
      // The video is what was asked for; it does not fail with the profile.
      if (!AppError.is(err, 'not_found')) deps.logger.warn({ err, userId }, 'owner profile unavailable');
    }
    return profile
      ? {
          id: profile.id,
          username: profile.username,
          display_name: profile.display_name,
          avatar_url: profile.avatar_url,
        }
      : null;
  };

  app.post(
    '/v1/videos',
    {
      preHandler: hooks.authenticate,
      schema: {
        ...mine,
        operationId: 'createVideo',
        summary: 'Create a video (draft), then upload its file with tus',
        description:
          'The video is a draft until its file is uploaded to `upload.url` (tus, with the given metadata); ' +
          'it is then encoded and becomes ready.',
        body: CreateVideoBody,
        response: { 201: Type.Ref('CreatedVideo'), ...errorResponses(400, 401, 413) },
      },
    },
    async (request, reply) => {
      const { title, description, tags, visibility } = request.body;
      const { video } = await deps.catalog.createVideo({
        ownerId: caller(request).sub,
        title,
        description: description ?? '',
        tags: tags ?? [],
        visibility: visibilities[visibility ?? 'public'],
      });
      if (!video) throw noVideo();
      return reply.code(201).send({
        video: videoView(video),
        upload: { url: UPLOAD_URL, method: 'tus' as const, metadata: { video_id: video.id } },
      });
    },
  );

  app.get(
    '/v1/videos',
    {
      schema: {
        ...open,
        operationId: 'listVideos',
        summary: 'Public videos: newest, most viewed, or matching a search',
        querystring: VideoListQuery,
        response: { 200: Type.Ref('VideoList'), ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const sort = q.sort === 'views' ? Sort.VIEWS : q.sort === 'new' ? Sort.NEW : Sort.UNSPECIFIED;
      const question = { pageSize: q.limit ?? 20, pageToken: q.cursor ?? '', sort, query: q.q ?? '' };
      const json = await deps.listings.get(question, async () => {
        const res = await deps.catalog.listVideos(question).catch(renameFields);
        return JSON.stringify({ videos: res.videos.map(videoView), next_cursor: res.nextPageToken || null });
      });
      reply.header('cache-control', `public, max-age=${Math.max(deps.listings.ttlSeconds, 5)}`);
      return reply.type('application/json; charset=utf-8').send(json);
    },
  );

  app.get(
    '/v1/videos/:id',
    {
      preHandler: hooks.identify,
      schema: {
        ...openOrMine,
        operationId: 'getVideo',
        summary: 'A video with its owner and playback URLs; counts a view',
        description:
          'Anyone sees ready public and unlisted videos; owners (with their token) also their private and ' +
          'unfinished ones. Playback URLs of unlisted and private videos are signed and expire (`expires_at`).',
        params: VideoIdParams,
        response: { 200: Type.Ref('VideoDetails'), ...errorResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const viewerId = request.claims?.sub ?? '';
      const { video } = await deps.catalog.getVideo({ videoId: request.params.id, viewerId });
      if (!video) throw noVideo();
      const view = videoView(video);
      const [owner, views] = await Promise.all([
        ownerOf(video.ownerId),
        view.status === 'ready'
          ? deps.catalog
              .recordView({ videoId: video.id, viewerSession: viewerSession(request) })
              .catch((err) => {
                deps.logger.warn({ err, videoId: video.id }, 'could not count a view');
                return undefined;
              })
          : undefined,
      ]);
      if (views) view.view_count = Number(views.viewCount);
      // Views are counted per request, and signed URLs are per viewer: nothing here is cacheable.
      reply.header('cache-control', 'no-store');
      return { ...view, owner };
    },
  );

  app.patch(
    '/v1/videos/:id',
    {
      preHandler: hooks.authenticate,
      schema: {
        ...mine,
        operationId: 'updateVideo',
        summary: 'Change your video’s title, description, tags or visibility',
        description: '`tags` replaces the tags (an empty list clears them).',
        params: VideoIdParams,
        body: VideoPatchBody,
        response: { 200: Type.Ref('Video'), ...errorResponses(400, 401, 403, 404, 413) },
      },
    },
    async (request, reply) => {
      const { title, description, tags, visibility } = request.body;
      const { video } = await deps.catalog.updateVideo({
        videoId: request.params.id,
        actorId: caller(request).sub,
        title,
        description,
        tags: tags ?? [],
        setTags: tags !== undefined,
        visibility: visibility ? visibilities[visibility] : undefined,
      });
      if (!video) throw noVideo();
      reply.header('cache-control', 'no-store');
      return videoView(video);
    },
  );

  app.delete(
    '/v1/videos/:id',
    {
      preHandler: hooks.authenticate,
      schema: {
        ...mine,
        operationId: 'deleteVideo',
        summary: 'Delete your video and its files',
        params: VideoIdParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deps.catalog.deleteVideo({ videoId: request.params.id, actorId: caller(request).sub });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/me/videos',
    {
      preHandler: hooks.authenticate,
      schema: {
        ...mine,
        tags: ['me', 'videos'],
        operationId: 'listMyVideos',
        summary: 'Your videos, in any state, newest first',
        querystring: OwnVideoListQuery,
        response: { 200: Type.Ref('VideoList'), ...errorResponses(400, 401) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const res = await deps.catalog
        .listOwnVideos({ ownerId: caller(request).sub, pageSize: q.limit ?? 20, pageToken: q.cursor ?? '' })
        .catch(renameFields);
      reply.header('cache-control', 'no-store');
      return { videos: res.videos.map(videoView), next_cursor: res.nextPageToken || null };
    },
  );
}
