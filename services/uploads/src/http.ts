/**
 * The uploads endpoint as a framework-free handler: the gateway hands it raw
 * requests under /v1/uploads (the standalone process does too). Every
 * request but a CORS preflight carries an access token; creation and every
 * PATCH are authorized by the catalog before a byte is accepted; then tus
 * takes over. Errors are the gateway's JSON errors, tus's own included.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Metadata, type Server, type Upload } from '@tus/server';
import { acceptRequestId, REQUEST_ID_HEADER, runWithContext } from '@wavecast/kit/context';
import { AppError, toAppError } from '@wavecast/kit/errors';
import { isId } from '@wavecast/kit/ids';
import type { Logger } from '@wavecast/kit/log';
import type { AccessClaims, TokenVerifier } from '@wavecast/kit/tokens';
import { sendAppError, sendComplete, sendTus, toWebRequest } from './respond.ts';
import type { Staging } from './staging.ts';
import { isUploadId, type TusContext, UPLOADS_PATH } from './tus.ts';
import type { UploadsService } from './uploads.service.ts';

export interface UploadsHttpDeps {
  tus: Server;
  contexts: WeakMap<Request, TusContext>;
  staging: Staging;
  service: UploadsService;
  verifier: TokenVerifier;
  maxBytes: number;
  corsOrigins: string[];
  logger: Logger;
}

export interface UploadsHttp {
  /** True when the path is /v1/uploads or under it: the request is then answered here. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Refuses new requests (503) and waits up to `ms` for those in progress. */
  drain(ms: number): Promise<void>;
}

type Route = 'create' | 'HEAD' | 'PATCH' | 'DELETE';

/** What admission established; `complete` when a HEAD found and judged a complete upload. */
type Admitted = Omit<TusContext, 'requestId' | 'finished'> & { complete?: number };

export function createUploadsHttp(deps: UploadsHttpDeps): UploadsHttp {
  const { tus, contexts, staging, service, verifier } = deps;
  const inFlight = new Set<Promise<void>>();
  let draining = false;

  /** Checks a creation: the length, the video, the caller, and the limit. */
  const admitCreation = async (req: IncomingMessage, claims: AccessClaims): Promise<Admitted> => {
    if (req.headers['upload-defer-length'] !== undefined) {
      throw new AppError(
        'invalid_argument',
        'Upload-Length is required: uploads of unknown size are not accepted',
      );
    }
    const length = req.headers['upload-length'];
    if (typeof length !== 'string' || !/^\d{1,16}$/.test(length)) {
      throw invalidHeader('Upload-Length', 'must be the size of the file in bytes');
    }
    const videoId = uploadMetadata(req.headers['upload-metadata']).video_id;
    if (!videoId) throw invalidHeader('Upload-Metadata', 'must carry video_id');
    if (!isId(videoId, 'vid')) throw invalidHeader('Upload-Metadata', 'video_id must be a vid_… id');
    const sourceKey = await service.authorize(videoId, claims.sub);
    if (Number(length) > deps.maxBytes) throw await service.refuseTooLarge(videoId);
    return { actorId: claims.sub, videoId, sourceKey };
  };

  /** Checks a request on an existing upload: its owner, and for PATCH the catalog again. */
  const admit = async (route: Route, publicId: string, claims: AccessClaims): Promise<Admitted> => {
    const upload = await loadUpload(staging, publicId);
    const videoId = upload.metadata?.video_id ?? '';
    if (upload.metadata?.owner_id !== claims.sub) {
      throw new AppError('permission_denied', 'this upload belongs to another user');
    }
    const ctx = { actorId: claims.sub, videoId };
    if (route === 'PATCH') return { ...ctx, sourceKey: await service.authorize(videoId, claims.sub) };
    if (route === 'HEAD' && upload.size !== undefined && upload.offset === upload.size) {
      // Complete but still staged: judging it failed part-way (ffprobe, storage or
      // the bus was down). Clients resume with HEAD, so this is where it is retried.
      const verdict = await service.finishStaged({
        ...ctx,
        storeId: upload.id,
        ownerId: claims.sub,
        sourceKey: await service.authorize(videoId, claims.sub),
        size: upload.size,
      });
      await service.discardStaged(upload.id);
      if (!verdict.ok) throw new AppError('invalid_argument', verdict.reason);
      return { ...ctx, complete: upload.size };
    }
    return ctx;
  };

  const serve = async (
    req: IncomingMessage,
    res: ServerResponse,
    web: Request,
    path: string,
    requestId: string,
  ) => {
    if (draining) throw new AppError('unavailable', 'the uploads service is shutting down');
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') return sendTus(req, res, web, await tus.handleWeb(web), requestId);
    // Creation at /v1/uploads or /v1/uploads/ (endpoints are written both ways).
    const publicId = path.slice(UPLOADS_PATH.length + 1) || undefined;
    const route = routeOf(method, publicId);
    if (!route) throw new AppError('not_found', `no route for ${method} ${path}`);
    const claims = await verifier.verify(bearerToken(req.headers.authorization));
    const admitted =
      route === 'create' ? await admitCreation(req, claims) : await admit(route, publicId ?? '', claims);
    if (admitted.complete !== undefined) return sendComplete(req, res, admitted.complete, deps.corsOrigins);
    const ctx: TusContext = { ...admitted, requestId };
    contexts.set(web, ctx);
    await sendTus(req, res, web, await tus.handleWeb(web), requestId);
    if (ctx.finished !== undefined) await service.discardStaged(ctx.finished);
  };

  const sendError = async (
    req: IncomingMessage,
    res: ServerResponse,
    web: Request | undefined,
    err: unknown,
    requestId: string,
  ) => {
    const appErr = toAppError(err);
    if (appErr.code === 'internal') deps.logger.error({ err }, 'upload request failed');
    else if (appErr.code === 'unavailable') {
      deps.logger.warn({ err: appErr.cause ?? appErr }, 'upload dependency unavailable');
    }
    await sendAppError(req, res, web, appErr, requestId, deps.corsOrigins);
  };

  return {
    handle(req, res) {
      const url = req.url ?? '/';
      // Every other request of the gateway passes here first: one prefix test lets it go.
      if (!url.startsWith(UPLOADS_PATH)) return false;
      const path = url.split('?')[0] ?? '/';
      if (path !== UPLOADS_PATH && !path.startsWith(`${UPLOADS_PATH}/`)) return false;
      const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]);
      res.setHeader(REQUEST_ID_HEADER, requestId);
      const done: Promise<void> = runWithContext({ requestId }, async () => {
        let web: Request | undefined;
        try {
          web = toWebRequest(req);
          await serve(req, res, web, path, requestId);
        } catch (err) {
          await sendError(req, res, web, err, requestId);
        }
      })
        .catch((err: unknown) => deps.logger.error({ err }, 'could not answer an upload request'))
        .finally(() => inFlight.delete(done));
      inFlight.add(done);
      return true;
    },
    async drain(ms) {
      draining = true;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      });
      await Promise.race([Promise.allSettled([...inFlight]), timeout]);
      clearTimeout(timer);
    },
  };
}

function routeOf(method: string, publicId: string | undefined): Route | undefined {
  if (publicId === undefined) return method === 'POST' ? 'create' : undefined;
  if (!isUploadId(publicId)) return undefined;
  return method === 'HEAD' || method === 'PATCH' || method === 'DELETE' ? method : undefined;
}

async function loadUpload(staging: Staging, publicId: string): Promise<Upload> {
  const { datastore } = staging;
  let upload: Upload;
  try {
    upload = await datastore.getUpload(staging.storeId(publicId));
  } catch (err) {
    const status = (err as { status_code?: number }).status_code;
    if (status === 404 || status === 410) {
      throw new AppError('not_found', 'no such upload: it finished, expired or never existed');
    }
    throw new AppError('unavailable', 'upload storage is unavailable', { cause: err });
  }
  // tus checks expiry after its own read; ours comes first, and a store may
  // report an expired (aborted) multipart upload as complete.
  const expiresMs = datastore.getExpiration();
  const started = Date.parse(upload.creation_date ?? '');
  if (expiresMs > 0 && upload.offset !== upload.size && started + expiresMs < Date.now()) {
    throw new AppError('not_found', 'no such upload: it finished, expired or never existed');
  }
  return upload;
}

export function bearerToken(header: string | undefined): string {
  if (!header)
    throw new AppError('unauthenticated', 'this needs an Authorization: Bearer <access token> header');
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1])
    throw new AppError('unauthenticated', 'Authorization header must be "Bearer <access token>"');
  return match[1];
}

function uploadMetadata(header: string | string[] | undefined): Record<string, string | null> {
  if (typeof header !== 'string') return {};
  try {
    return Metadata.parse(header);
  } catch {
    throw invalidHeader('Upload-Metadata', 'must be comma-separated keys and base64 values');
  }
}

function invalidHeader(field: string, message: string): AppError {
  return new AppError('invalid_argument', `${field} ${message}`, { fields: [{ field, message }] });
}
