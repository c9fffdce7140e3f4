/**
 * The S3 storage adapter (`s3://bucket?…`), for AWS S3 and S3-compatible
 * servers (MinIO, Ceph, R2, s3rver in tests). S3 itself makes a PutObject or
 * CompleteMultipartUpload atomic, so readers never see half an object.
 */

import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ObjectInfo, Storage } from '../storage.ts';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  byKey,
  contentTypeFor,
  isSourceError,
} from './rules.ts';
import { isNotFound, s3Error } from './s3-errors.ts';
import { uploadStream } from './s3-upload.ts';

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** For S3-compatible servers; absent for AWS. */
  endpoint?: string | undefined;
  /** Path-style URLs (`endpoint/bucket/key`), which most non-AWS servers need. */
  forcePathStyle: boolean;
  /** Absent: the SDK's default chain (AWS_ACCESS_KEY_ID…, profiles, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** Create the bucket at open when missing (development). */
  create: boolean;
  logger?: Logger | undefined;
}

/** 8 MiB: S3's minimum is 5 MiB; larger parts mean fewer requests, more memory. */
const partSize = 8 * 1024 * 1024;
const uploadConcurrency = 4;

/** Opens a bucket as storage; does not touch the network unless `create` is set. */
export async function openS3Storage(opts: S3StorageOptions): Promise<Storage> {
  const client = new S3Client({
    region: opts.region,
    endpoint: opts.endpoint,
    forcePathStyle: opts.forcePathStyle,
    credentials: opts.credentials,
  });
  const storage = new S3Storage(client, opts.bucket, opts.logger);
  if (opts.create) {
    await ensureBucket(client, opts.bucket, opts.region).catch(async (err: unknown) => {
      client.destroy();
      throw s3Error(err, opts.bucket);
    });
  }
  return storage;
}

class S3Storage implements Storage {
  readonly kind = 's3' as const;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #logger: Logger | undefined;

  constructor(client: S3Client, bucket: string, logger: Logger | undefined) {
    this.#client = client;
    this.#bucket = bucket;
    this.#logger = logger;
  }

  async put(key: string, body: Buffer | Uint8Array | string | Readable, opts?: { contentType?: string }) {
    assertValidKey(key);
    const target = { Bucket: this.#bucket, Key: key, ContentType: opts?.contentType ?? contentTypeFor(key) };
    try {
      if (typeof body === 'string' || body instanceof Uint8Array) {
        await this.#client.send(new PutObjectCommand({ ...target, Body: body }));
      } else {
        await uploadStream(this.#client, target, body, {
          partSize,
          concurrency: uploadConcurrency,
          logger: this.#logger,
        });
      }
    } catch (err) {
      throw isSourceError(body, err) ? err : s3Error(err, key);
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    assertValidKey(key);
    assertValidRange(range);
    const Range = range ? `bytes=${range.start}-${range.end ?? ''}` : undefined;
    const { Body } = await this.#client
      .send(new GetObjectCommand({ Bucket: this.#bucket, Key: key, Range }))
      .catch((err: unknown) => {
        throw s3Error(err, key);
      });
    // In Node the SDK's body is an http.IncomingMessage, a Readable.
    if (!(Body instanceof Readable))
      throw new AppError('internal', 'S3 returned a body that is not a stream');
    return Body;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    try {
      const res = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return {
        key,
        size: res.ContentLength ?? 0,
        contentType: res.ContentType,
        modifiedAt: res.LastModified ?? new Date(0),
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw s3Error(err, key);
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    // S3 answers 204 whether or not the key existed.
    await this.#client
      .send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }))
      .catch((err: unknown) => {
        throw s3Error(err, key);
      });
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    if (prefix === '') throw new AppError('invalid_argument', 'refusing to delete every storage object');
    let deleted = 0;
    try {
      // A listing page holds at most 1000 keys, DeleteObjects' limit: one call per page.
      for await (const page of this.#pages(prefix)) {
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        if (keys.length === 0) continue;
        const res = await this.#client.send(
          new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: keys, Quiet: true } }),
        );
        const errors = res.Errors ?? [];
        deleted += keys.length - errors.length;
        if (errors.length > 0) {
          const [first] = errors;
          throw new AppError('unavailable', `could not delete ${errors.length} objects under ${prefix}`, {
            cause: first,
          });
        }
      }
    } catch (err) {
      throw s3Error(err, prefix);
    }
    return deleted;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    const found: ObjectInfo[] = [];
    try {
      for await (const page of this.#pages(prefix)) {
        for (const o of page.Contents ?? []) {
          if (!o.Key) continue;
          // ListObjectsV2 does not report content types; head() does.
          found.push({ key: o.Key, size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) });
        }
      }
    } catch (err) {
      throw s3Error(err, prefix);
    }
    return found.sort(byKey);
  }

  async presignGet(key: string, ttlSeconds: number): Promise<string> {
    assertValidKey(key);
    // SigV4 presigned URLs live at most 7 days.
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 604_800) {
      throw new AppError('invalid_argument', `presigned URL lifetime must be 1-604800 s, got ${ttlSeconds}`);
    }
    // Signing is local (no request), so the only failures are missing credentials.
    return getSignedUrl(this.#client, new GetObjectCommand({ Bucket: this.#bucket, Key: key }), {
      expiresIn: ttlSeconds,
    }).catch((err: unknown) => {
      throw s3Error(err, key);
    });
  }

  async ping(): Promise<void> {
    await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket })).catch((err: unknown) => {
      // Whatever the cause (a missing bucket, refused credentials, no
      // network), storage is unusable, which is what ping reports.
      const reason = isNotFound(err)
        ? `bucket ${this.#bucket} does not exist`
        : s3Error(err, this.#bucket).message;
      throw new AppError('unavailable', `storage unavailable: ${reason}`, { cause: err });
    });
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #pages(prefix: string) {
    return paginateListObjectsV2(
      { client: this.#client },
      { Bucket: this.#bucket, Prefix: prefix || undefined },
    );
  }
}

async function ensureBucket(client: S3Client, bucket: string, region: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  // us-east-1 is the one region that must not be named as a location constraint.
  const config = region === 'us-east-1' ? undefined : { LocationConstraint: region as never };
  await client
    .send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: config }))
    .catch((err) => {
      // Another process created it between our two calls: fine.
      if ((err as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw err;
    });
}
