/**
 * Uploads a stream of unknown length to S3: one PutObject when it fits in a
 * single part, otherwise a multipart upload of fixed-size parts with a few in
 * flight. Memory stays bounded at about (concurrency + 1) parts.
 */
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface UploadTarget {
  Bucket: string;
  Key: string;
  ContentType: string;
}

export interface UploadOptions {
  /** Bytes per part; S3 requires at least 5 MiB for all parts but the last. */
  partSize: number;
  /** Parts uploaded at once. */
  concurrency: number;
  logger?: Logger | undefined;
}

/** S3's limit on parts per upload: with 8 MiB parts, objects up to about 78 GiB. */
const maxParts = 10_000;

/** Uploads `body`; on failure aborts the multipart upload (best effort) and rethrows. */
export async function uploadStream(
  client: S3Client,
  target: UploadTarget,
  body: AsyncIterable<unknown>,
  opts: UploadOptions,
): Promise<void> {
  const parts = chunk(body, opts.partSize);
  const first = await parts.next();
  const firstPart = first.done ? Buffer.alloc(0) : first.value;
  // Shorter than a part means the stream has ended: no multipart needed.
  if (firstPart.length < opts.partSize) {
    await client.send(new PutObjectCommand({ ...target, Body: firstPart, ContentLength: firstPart.length }));
    return;
  }

  const { UploadId } = await client.send(new CreateMultipartUploadCommand(target));
  const ids = { Bucket: target.Bucket, Key: target.Key, UploadId };
  const completed: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  const upload = (PartNumber: number, Body: Buffer) => {
    const sent: Promise<void> = client
      .send(new UploadPartCommand({ ...ids, PartNumber, Body, ContentLength: Body.length }))
      .then(
        ({ ETag }) => {
          completed.push({ PartNumber, ETag });
        },
        (err: unknown) => {
          failure ??= { err };
        },
      )
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  };

  try {
    let partNumber = 1;
    upload(partNumber, firstPart);
    for await (const part of parts) {
      if (part.length === 0) break; // the stream was a whole number of parts
      if (++partNumber > maxParts) {
        throw new AppError('payload_too_large', `stream exceeds ${maxParts} parts of ${opts.partSize} bytes`);
      }
      while (inFlight.size >= opts.concurrency && !failure) await Promise.race(inFlight);
      if (failure) break; // leaving the loop also destroys the source stream
      upload(partNumber, part);
    }
    await Promise.all(inFlight);
    if (failure) throw failure.err;
    completed.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await client.send(new CompleteMultipartUploadCommand({ ...ids, MultipartUpload: { Parts: completed } }));
  } catch (err) {
    await Promise.all(inFlight); // never rejects: failures are captured above
    await client.send(new AbortMultipartUploadCommand(ids)).catch((abortErr: unknown) => {
      // Parts left behind cost storage until a bucket lifecycle rule
      // (AbortIncompleteMultipartUpload) removes them.
      opts.logger?.warn(
        { err: abortErr, key: target.Key, uploadId: UploadId },
        'could not abort multipart upload',
      );
    });
    throw err;
  }
}

/**
 * Re-chunks a byte stream into buffers of exactly `size` bytes, then one last
 * shorter (possibly empty) buffer; a buffer shorter than `size` is always last.
 */
async function* chunk(body: AsyncIterable<unknown>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const piece of body) {
    const buf = toBuffer(piece);
    pending.push(buf);
    length += buf.length;
    while (length >= size) {
      const all = Buffer.concat(pending, length);
      yield all.subarray(0, size);
      const rest = all.subarray(size);
      pending = rest.length > 0 ? [rest] : [];
      length = rest.length;
    }
  }
  yield Buffer.concat(pending, length);
}

function toBuffer(piece: unknown): Buffer {
  if (Buffer.isBuffer(piece)) return piece;
  if (typeof piece === 'string') return Buffer.from(piece, 'utf8');
  if (piece instanceof Uint8Array) return Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  throw new AppError('invalid_argument', 'storage stream bodies must yield bytes or strings');
}
