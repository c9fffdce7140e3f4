/**
 * The uploads service: receives the source files of videos (tus at
 * /v1/uploads, or a presigned PUT straight to S3), judges them with ffprobe,
 * and announces video.uploaded.v1 or video.failed.v1. It has no database:
 * upload state lives with the bytes in storage, and who may upload what is
 * the catalog's to say.
 */
import { spawnSync } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createClient, type Transport } from '@connectrpc/connect';
import { eventSchemas } from '@wavecast/contracts/events';
import { CatalogService } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import type { Bus } from '@wavecast/kit/bus';
import type { ConfigOf } from '@wavecast/kit/config';
import { AppError } from '@wavecast/kit/errors';
import { typedEvents } from '@wavecast/kit/events';
import type { Logger } from '@wavecast/kit/log';
import type { Storage } from '@wavecast/kit/storage';
import type { TokenVerifier } from '@wavecast/kit/tokens';
import type { uploadsConfigSpec } from './config.ts';
import { createDirectHttp } from './direct.ts';
import { ffprober } from './ffprobe.ts';
import { createUploadsHttp } from './http.ts';
import { openStaging } from './staging.ts';
import { storageTarget } from './storage-target.ts';
import { createTusServer, type TusContext } from './tus.ts';
import { type DirectUpload, type UploadedFile, UploadsService } from './uploads.service.ts';

export { GIB, uploadsConfigSpec } from './config.ts';
export { UPLOADS_PATH } from './tus.ts';
export type { DirectUpload, UploadedFile } from './uploads.service.ts';

export interface UploadsDeps {
  config: ConfigOf<typeof uploadsConfigSpec>;
  /** The storage port, and the URL it was opened with (tus writes beside it, in the same place). */
  storage: Storage;
  storageUrl: string;
  bus: Bus;
  /** To the catalog service (AuthorizeUpload). */
  catalog: Transport;
  verifier: TokenVerifier;
  logger: Logger;
}

export interface Uploads {
  /**
   * Answers a request when its path is /v1/uploads or under it (tus 1.0,
   * with CORS) and returns true; returns false, touching nothing, otherwise.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * Answers `POST /v1/videos/{id}/upload-url` and `…/upload-complete` over
   * HTTP (for a gateway in another process; the token is checked here) and
   * returns true; false, touching nothing, for anything else.
   */
  handleDirect(req: IncomingMessage, res: ServerResponse): boolean;
  /** `POST /v1/videos/{id}/upload-url` (S3 storage): a presigned PUT of the source file. */
  presignUpload(videoId: string, actorId: string, sizeBytes?: number): Promise<DirectUpload>;
  /** `POST /v1/videos/{id}/upload-complete`: judges the file PUT there and announces the outcome. */
  completeUpload(videoId: string, actorId: string): Promise<UploadedFile>;
  ready(): Promise<void>;
  /** Refuses new requests, waits a little for those in progress, stops expiring uploads. */
  stop(): Promise<void>;
}

const EXPIRY_SWEEP_MS = 60 * 60 * 1000;
const DRAIN_MS = 10_000;

export async function createUploads(deps: UploadsDeps): Promise<Uploads> {
  const { config, logger } = deps;
  assertFfprobe(config.ffprobePath);
  const staging = await openStaging(await storageTarget(deps.storageUrl), deps.storage, {
    expireMs: config.incompleteTtlHours * 3600 * 1000,
    presignSeconds: config.presignSeconds,
  });
  const service = new UploadsService({
    catalog: createClient(CatalogService, deps.catalog),
    bus: deps.bus,
    storage: deps.storage,
    staging,
    probe: ffprober(config.ffprobePath),
    logger,
    maxBytes: config.maxBytes,
    presignSeconds: config.presignSeconds,
  });
  const contexts = new WeakMap<Request, TusContext>();
  const tus = createTusServer({
    staging,
    service,
    contexts,
    maxBytes: config.maxBytes,
    corsOrigins: config.corsOrigins,
    logger,
  });
  const http = createUploadsHttp({
    tus,
    contexts,
    staging,
    service,
    verifier: deps.verifier,
    maxBytes: config.maxBytes,
    corsOrigins: config.corsOrigins,
    logger,
  });
  const sweeper =
    config.incompleteTtlHours > 0
      ? setInterval(() => {
          staging.sweep().then(
            (removed) => removed > 0 && logger.info({ removed }, 'expired unfinished uploads removed'),
            (err: unknown) => logger.warn({ err }, 'could not remove expired uploads'),
          );
        }, EXPIRY_SWEEP_MS)
      : undefined;
  sweeper?.unref();
  // The source file of a deleted video goes with it (idempotent).
  const cleanup = await typedEvents(deps.bus, eventSchemas).subscribe('uploads', {
    'video.deleted.v1': async (data) => {
      if (data.source_key) await deps.storage.delete(data.source_key);
      logger.info({ videoId: data.video_id }, 'deleted the source of a deleted video');
    },
  });
  const direct = createDirectHttp({ service, verifier: deps.verifier, logger });
  return {
    handle: http.handle,
    handleDirect: direct,
    presignUpload: (videoId, actorId, sizeBytes) => service.presignUpload(videoId, actorId, sizeBytes),
    completeUpload: (videoId, actorId) => service.completeUpload(videoId, actorId),
    ready: async () => {
      await Promise.all([deps.storage.ping(), deps.bus.ping()]);
    },
    async stop() {
      clearInterval(sweeper);
      await cleanup.close();
      await http.drain(DRAIN_MS);
      staging.close();
    },
  };
}

/** Refuses to start without ffprobe, naming what to install. */
function assertFfprobe(path: string): void {
  const run = spawnSync(path, ['-version'], { stdio: 'ignore', timeout: 10_000 });
  if (run.error || run.status !== 0) {
    throw new AppError(
      'failed_precondition',
      `ffprobe not found at ${JSON.stringify(path)} (FFPROBE_PATH): install ffmpeg (apt-get install ffmpeg)`,
    );
  }
}
