/**
 * The tus 1.0 server (`@tus/server`) at /v1/uploads. Who may do what is
 * decided before a request reaches it (./http.ts), which leaves it the
 * context through `contexts`; here it names uploads, stores bytes in the
 * staging store, and hands complete uploads to the service.
 */
import { Server } from '@tus/server';
import { AppError, httpStatus, toAppError } from '@wavecast/kit/errors';
import { isId, newId } from '@wavecast/kit/ids';
import type { Logger } from '@wavecast/kit/log';
import type { Staging } from './staging.ts';
import type { UploadsService } from './uploads.service.ts';

export const UPLOADS_PATH = '/v1/uploads';

/** What the HTTP layer established about a request before tus saw it. */
export interface TusContext {
  requestId: string;
  actorId: string;
  videoId: string;
  /** Set for creation and PATCH, where the catalog was asked. */
  sourceKey?: string;
  /** Set when the request finished an upload: staging drops it after tus answered. */
  finished?: string;
}

export interface TusOptions {
  staging: Staging;
  service: UploadsService;
  contexts: WeakMap<Request, TusContext>;
  maxBytes: number;
  corsOrigins: string[];
  logger: Logger;
}

/** Upload ids in URLs: `upl_<ULID>`; the datastore id may add a prefix (S3). */
export const isUploadId = (id: string) => isId(id, 'upl');
const publicIdOf = (storeId: string) => storeId.slice(storeId.lastIndexOf('/') + 1);

export function createTusServer(opts: TusOptions): Server {
  const { staging, service, contexts } = opts;
  const contextOf = (req: Request): TusContext => {
    const ctx = contexts.get(req);
    if (!ctx) throw new AppError('internal', 'a tus request arrived without its context');
    return ctx;
  };
  return new Server({
    path: UPLOADS_PATH,
    datastore: staging.datastore,
    maxSize: opts.maxBytes,
    namingFunction: () => staging.storeId(newId('upl')),
    // Relative, so the URL holds behind the gateway or any proxy.
    generateUrl: (_req, { path, id }) => `${path}/${publicIdOf(id)}`,
    getFileIdFromRequest: (_req, lastPath) =>
      lastPath && isUploadId(lastPath) ? staging.storeId(lastPath) : undefined,
    allowedOrigins: opts.corsOrigins.includes('*') ? undefined : opts.corsOrigins,
    allowedHeaders: ['X-Request-Id'],
    exposedHeaders: ['X-Request-Id'],
    disableTerminationForFinishedUploads: true,
    async onUploadCreate(req, upload) {
      const ctx = contextOf(req);
      // Who and what for, kept with the upload: later requests are checked against them.
      return { metadata: { ...upload.metadata, video_id: ctx.videoId, owner_id: ctx.actorId } };
    },
    async onUploadFinish(req, upload) {
      const ctx = contextOf(req);
      if (ctx.sourceKey === undefined) throw new AppError('internal', 'finished without a source key');
      const verdict = await service.finishStaged({
        storeId: upload.id,
        videoId: ctx.videoId,
        ownerId: ctx.actorId,
        sourceKey: ctx.sourceKey,
        size: upload.size ?? upload.offset,
      });
      // Not yet: a creation that completes an upload reads it back before answering.
      ctx.finished = upload.id;
      if (verdict.ok) return {};
      // The upload itself went through; the file is refused, and the client is told why.
      return {
        status_code: 400,
        headers: { 'Content-Type': 'application/json' },
        body: errorBody(new AppError('invalid_argument', verdict.reason), ctx.requestId),
      };
    },
    onResponseError(req, err) {
      // tus's own errors are plain objects with a status; ours are AppErrors.
      if (!(err instanceof Error) || 'status_code' in err) return undefined;
      const appErr = toAppError(err);
      const requestId = contexts.get(req)?.requestId ?? '';
      if (appErr.code === 'internal') opts.logger.error({ err }, 'upload request failed');
      else if (appErr.code === 'unavailable')
        opts.logger.warn({ err: appErr.cause ?? appErr }, 'upload dependency unavailable');
      return { status_code: httpStatus(appErr.code), body: errorBody(appErr, requestId) };
    },
  });
}

/** The gateway's error body: `{error: {code, message, request_id, fields?}}`. */
export function errorBody(err: AppError, requestId: string): string {
  return JSON.stringify({
    error: {
      code: err.code,
      message: err.message,
      request_id: requestId,
      ...(err.fields.length > 0 && { fields: err.fields }),
    },
  });
}
