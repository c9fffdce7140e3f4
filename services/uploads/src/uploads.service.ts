/**
 * The rules of receiving a video's source file, whatever carried it (tus or
 * a presigned PUT): the catalog decides who may upload what and where it
 * goes; a file over the limit, empty, or without a decodable video stream
 * fails the video with a reason its owner can read; a good one is put at its
 * source key and announced with its probe. Knows nothing of HTTP.
 */
import type { Client } from '@connectrpc/connect';
import { type EventSchemas, eventSchemas } from '@wavecast/contracts/events';
import type { CatalogService } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import type { Bus } from '@wavecast/kit/bus';
import { AppError } from '@wavecast/kit/errors';
import { type EventBus, typedEvents } from '@wavecast/kit/events';
import type { Logger } from '@wavecast/kit/log';
import { fromConnectError } from '@wavecast/kit/rpc';
import type { Storage } from '@wavecast/kit/storage';
import type { Prober } from './ffprobe.ts';
import type { Probe, Verdict } from './probe.ts';
import type { Staging } from './staging.ts';

export interface UploadsServiceDeps {
  catalog: Client<typeof CatalogService>;
  bus: Bus;
  storage: Storage;
  staging: Staging;
  probe: Prober;
  logger: Logger;
  maxBytes: number;
  presignSeconds: number;
  now?: () => Date;
}

/** A complete tus upload waiting to be judged. */
export interface StagedUpload {
  storeId: string;
  videoId: string;
  ownerId: string;
  sourceKey: string;
  size: number;
}

export interface DirectUpload {
  /** PUT the file here, with its exact size when `size_bytes` was given. */
  url: string;
  method: 'PUT';
  /** Headers the signature covers besides Host (Content-Length when a size was given). */
  headers: Record<string, string>;
  expires_at: string;
  /** The largest file accepted; with a size given, exactly that size is. */
  max_bytes: number;
}

export interface UploadedFile {
  source_key: string;
  size_bytes: number;
  probe: Probe;
}

export class UploadsService {
  readonly #deps: UploadsServiceDeps;
  readonly #events: EventBus<EventSchemas>;
  readonly #now: () => Date;
  /** Judgements in progress per staged upload: a retry joins the running one. */
  readonly #finishing = new Map<string, Promise<Verdict>>();

  constructor(deps: UploadsServiceDeps) {
    this.#deps = deps;
    this.#events = typedEvents(deps.bus, eventSchemas);
    this.#now = deps.now ?? (() => new Date());
  }

  /** The key the file goes to, once the catalog agrees that `actorId` may upload it now. */
  async authorize(videoId: string, actorId: string): Promise<string> {
    let sourceKey: string;
    try {
      ({ sourceKey } = await this.#deps.catalog.authorizeUpload({ videoId, actorId }));
    } catch (err) {
      const cause = fromConnectError(err);
      switch (cause.code) {
        case 'not_found':
          throw new AppError('not_found', `no video ${videoId}`, { cause });
        case 'permission_denied':
          throw new AppError('permission_denied', 'only the owner of this video can upload its file', {
            cause,
          });
        case 'failed_precondition':
          // A conflict with the video's state (it has its file, or is being processed): 409.
          throw new AppError(
            'already_exists',
            `video ${videoId} is not waiting for a file: ${cause.message}`,
            {
              cause,
            },
          );
        default:
          throw cause;
      }
    }
    if (!sourceKey) throw new AppError('internal', 'the catalog named no source key');
    return sourceKey;
  }

  /** Fails the video for a file over the limit; returns the error to answer with. */
  async refuseTooLarge(videoId: string): Promise<AppError> {
    const reason = this.tooLargeReason();
    await this.#failed(videoId, reason);
    return new AppError('payload_too_large', reason);
  }

  tooLargeReason(): string {
    return `the file is larger than the ${formatBytes(this.#deps.maxBytes)} limit`;
  }

  /**
   * Judges a complete tus upload, promotes it to its source key when good,
   * and announces the outcome, once the file is in place. The outcome stands
   * until `discardStaged`; a call meanwhile gets it again instead of a second
   * announcement. A failure part-way leaves the staged upload for a retry
   * (see the HEAD handling in ./http.ts).
   */
  finishStaged(upload: StagedUpload): Promise<Verdict> {
    const known = this.#finishing.get(upload.storeId);
    if (known) return known;
    const finishing = this.#finishStaged(upload);
    this.#finishing.set(upload.storeId, finishing);
    finishing.catch(() => this.#finishing.delete(upload.storeId));
    return finishing;
  }

  async #finishStaged(upload: StagedUpload): Promise<Verdict> {
    const { staging } = this.#deps;
    const verdict: Verdict =
      upload.size === 0
        ? { ok: false, reason: 'the file is empty' }
        : await this.#deps.probe(await staging.probeInput(upload.storeId));
    if (verdict.ok) {
      await staging.promote(upload.storeId, upload.sourceKey, upload.size);
      await this.#uploaded(upload.videoId, upload.ownerId, upload.sourceKey, upload.size, verdict.probe);
    } else {
      await this.#failed(upload.videoId, verdict.reason);
    }
    return verdict;
  }

  /** Removes a finished upload from staging (after tus answered: it may read it back). */
  async discardStaged(storeId: string): Promise<void> {
    await this.#deps.staging.discard(storeId).catch((err: unknown) => {
      // Expiry removes it later; the outcome stands.
      this.#deps.logger.warn({ err, upload: storeId }, 'could not discard a finished upload');
    });
    this.#finishing.delete(storeId);
  }

  /** A presigned PUT for the video's source key (S3 storage only). */
  async presignUpload(videoId: string, actorId: string, sizeBytes?: number): Promise<DirectUpload> {
    const s3 = this.#requireS3();
    if (sizeBytes !== undefined && !(Number.isSafeInteger(sizeBytes) && sizeBytes >= 1)) {
      throw new AppError('invalid_argument', 'size_bytes must be the size of the file in bytes', {
        fields: [{ field: 'size_bytes', message: 'must be a whole number of bytes, at least 1' }],
      });
    }
    const sourceKey = await this.authorize(videoId, actorId);
    if (sizeBytes !== undefined && sizeBytes > this.#deps.maxBytes) throw await this.refuseTooLarge(videoId);
    const seconds = this.#deps.presignSeconds;
    return {
      url: await s3.presignPut(sourceKey, seconds, sizeBytes),
      method: 'PUT',
      headers: sizeBytes === undefined ? {} : { 'content-length': String(sizeBytes) },
      expires_at: new Date(this.#now().getTime() + seconds * 1000).toISOString(),
      max_bytes: sizeBytes ?? this.#deps.maxBytes,
    };
  }

  /**
   * Judges the file PUT to the presigned URL and announces the outcome. A
   * bad file fails the video and is deleted; the error names the reason.
   */
  async completeUpload(videoId: string, actorId: string): Promise<UploadedFile> {
    const s3 = this.#requireS3();
    const { storage, logger, maxBytes } = this.#deps;
    const sourceKey = await this.authorize(videoId, actorId);
    const info = await storage.head(sourceKey);
    if (!info) throw new AppError('failed_precondition', 'no file has been uploaded to the upload URL yet');
    const tooLarge = info.size > maxBytes;
    const verdict: Verdict =
      info.size === 0
        ? { ok: false, reason: 'the file is empty' }
        : tooLarge
          ? { ok: false, reason: this.tooLargeReason() }
          : await this.#deps.probe(await s3.presignGet(sourceKey, this.#deps.presignSeconds));
    if (!verdict.ok) {
      await this.#failed(videoId, verdict.reason);
      await storage.delete(sourceKey).catch((err: unknown) => {
        logger.warn({ err, key: sourceKey }, 'could not delete a refused upload');
      });
      throw new AppError(tooLarge ? 'payload_too_large' : 'invalid_argument', verdict.reason);
    }
    await this.#uploaded(videoId, actorId, sourceKey, info.size, verdict.probe);
    return { source_key: sourceKey, size_bytes: info.size, probe: verdict.probe };
  }

  #requireS3() {
    const { s3 } = this.#deps.staging;
    if (!s3) {
      throw new AppError(
        'failed_precondition',
        'direct uploads need S3 storage; upload with tus at /v1/uploads',
      );
    }
    return s3;
  }

  async #uploaded(videoId: string, ownerId: string, sourceKey: string, size: number, probe: Probe) {
    await this.#events.publish('video.uploaded.v1', {
      video_id: videoId,
      owner_id: ownerId,
      source_key: sourceKey,
      size_bytes: size,
      probe,
      uploaded_at: this.#now().toISOString(),
    });
    this.#deps.logger.info({ videoId, sourceKey, size, probe }, 'video uploaded');
  }

  async #failed(videoId: string, reason: string) {
    await this.#events.publish('video.failed.v1', {
      video_id: videoId,
      stage: 'upload',
      reason,
      failed_at: this.#now().toISOString(),
    });
    this.#deps.logger.info({ videoId, reason }, 'video upload refused');
  }
}

/** `10 GiB`, `512 MiB`, `1.5 GiB`: sizes as people write them. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}
