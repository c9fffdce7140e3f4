/**
 * The direct-to-bucket upload of a video's file (S3 storage): a presigned
 * PUT URL, then the confirmation that makes the uploads service judge the
 * file (ffprobe) and announce it, as a finished tus upload does. The uploads
 * service asks the catalog whether the caller may upload now.
 */
import { AppError } from '@wavecast/kit/errors';
import Type from 'typebox';
import type { GatewayDeps } from '../deps.ts';
import { bearerToken, caller } from '../plugins/auth.ts';
import { errorResponses } from '../schemas.ts';
import type { AuthHooks, TypedApp } from '../typed.ts';
import { UploadUrlBody } from '../upload.schemas.ts';
import type { UploadCaller } from '../uploads-backend.ts';
import { VideoIdParams } from '../video.schemas.ts';

const mine = { 'x-audience': 'private', tags: ['videos'], security: [{ bearerAuth: [] }] };

const errors =
  'Direct uploads need S3 storage: on other storage both routes answer 412 (`failed_precondition`), ' +
  'and the file goes through tus at `/v1/uploads/`. Someone else’s video is 403, an unknown one 404, ' +
  'and a video that is not waiting for a file (it has one already, or is being encoded) 409.';

export function uploadRoutes(app: TypedApp, deps: GatewayDeps, hooks: AuthHooks) {
  const backend = () => {
    if (!deps.uploads) throw new AppError('unavailable', 'direct uploads are not available on this gateway');
    return deps.uploads;
  };
  const who = (request: Parameters<typeof caller>[0]): UploadCaller => ({
    userId: caller(request).sub,
    accessToken: bearerToken(request),
  });

  app.post(
    '/v1/videos/:id/upload-url',
    {
      // Without a body (no size to bind), as if `{}` were sent.
      preValidation: async (request) => {
        request.body ??= {};
      },
      preHandler: hooks.authenticate,
      schema: {
        ...mine,
        operationId: 'createVideoUploadUrl',
        summary: 'A presigned URL to PUT your video’s file straight into the bucket',
        description:
          'For a draft (or a video whose upload failed). Send the file as the body of one `PUT` to `url` ' +
          'before `expires_at`, then call `upload-complete`. With `size_bytes` the URL accepts a file of ' +
          `exactly that size. A size over the limit fails the video (413). ${errors}`,
        params: VideoIdParams,
        body: UploadUrlBody,
        response: {
          200: Type.Ref('DirectUpload'),
          ...errorResponses(400, 401, 403, 404, 409, 412, 413),
        },
      },
    },
    async (request, reply) => {
      const direct = await backend().presignUpload(request.params.id, who(request), request.body?.size_bytes);
      reply.header('cache-control', 'no-store');
      return direct;
    },
  );

  app.post(
    '/v1/videos/:id/upload-complete',
    {
      preHandler: hooks.authenticate,
      schema: {
        ...mine,
        operationId: 'completeVideoUpload',
        summary: 'Confirm the file PUT to the upload URL: it is checked, then encoded',
        description:
          'The file is checked with ffprobe. A good one is accepted (the video becomes `uploaded`, then is ' +
          'encoded); an empty one, one over the limit, or one without a decodable video stream fails the ' +
          'video with the reason (400, or 413) and is deleted. Before any file was PUT: 412. ' +
          errors,
        params: VideoIdParams,
        response: {
          200: Type.Ref('UploadedFile'),
          ...errorResponses(400, 401, 403, 404, 409, 412, 413),
        },
      },
    },
    async (request, reply) => {
      const file = await backend().completeUpload(request.params.id, who(request));
      reply.header('cache-control', 'no-store');
      return {
        video_id: request.params.id,
        status: 'uploaded' as const,
        size_bytes: file.size_bytes,
        probe: file.probe,
      };
    },
  );
}
