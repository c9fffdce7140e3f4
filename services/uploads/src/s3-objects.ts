/**
 * The S3 operations the storage port does not offer: presigned URLs (PUT for
 * browsers, GET for ffprobe) and server-side copies, on the same bucket and
 * credentials as the port.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AppError } from '@wavecast/kit/errors';

/** CopyObject's limit; larger objects are copied part by part. */
const SINGLE_COPY_LIMIT = 5 * 1024 ** 3;
const COPY_PART_BYTES = 512 * 1024 ** 2;
const COPY_CONCURRENCY = 4;

export class S3Objects {
  readonly bucket: string;
  readonly #client: S3Client;

  constructor(config: S3ClientConfig, bucket: string) {
    this.#client = new S3Client(config);
    this.bucket = bucket;
  }

  /** A URL that PUTs `key`; with `size`, the signature binds Content-Length, so S3 refuses any other size. */
  presignPut(key: string, seconds: number, size?: number): Promise<string> {
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentLength: size });
    return this.#wrap(key, () => getSignedUrl(this.#client, command, { expiresIn: seconds }));
  }

  presignGet(key: string, seconds: number): Promise<string> {
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: key });
    return this.#wrap(key, () => getSignedUrl(this.#client, command, { expiresIn: seconds }));
  }

  /** Copies `from` over `to` inside the bucket; readers of `to` see the old or the whole new object. */
  async copy(from: string, to: string, size: number): Promise<void> {
    const CopySource = `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    if (size <= SINGLE_COPY_LIMIT) {
      await this.#wrap(to, () =>
        this.#client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource })),
      );
      return;
    }
    const target = { Bucket: this.bucket, Key: to };
    const { UploadId } = await this.#wrap(to, () =>
      this.#client.send(new CreateMultipartUploadCommand(target)),
    );
    const ids = { ...target, UploadId };
    try {
      const ranges: { PartNumber: number; CopySourceRange: string }[] = [];
      for (let start = 0; start < size; start += COPY_PART_BYTES) {
        const end = Math.min(size, start + COPY_PART_BYTES) - 1;
        ranges.push({ PartNumber: ranges.length + 1, CopySourceRange: `bytes=${start}-${end}` });
      }
      const parts: { PartNumber: number; ETag: string | undefined }[] = [];
      const copyNext = async () => {
        for (let range = ranges.shift(); range; range = ranges.shift()) {
          const res = await this.#client.send(new UploadPartCopyCommand({ ...ids, ...range, CopySource }));
          parts.push({ PartNumber: range.PartNumber, ETag: res.CopyPartResult?.ETag });
        }
      };
      await Promise.all(Array.from({ length: COPY_CONCURRENCY }, copyNext));
      parts.sort((a, b) => a.PartNumber - b.PartNumber);
      await this.#client.send(
        new CompleteMultipartUploadCommand({ ...ids, MultipartUpload: { Parts: parts } }),
      );
    } catch (err) {
      await this.#client.send(new AbortMultipartUploadCommand(ids)).catch(() => undefined);
      throw new AppError('unavailable', `storage could not copy to ${JSON.stringify(to)}`, { cause: err });
    }
  }

  /** Deletes keys, present or not. */
  async delete(keys: string[]): Promise<void> {
    await this.#wrap(keys[0] ?? '', () =>
      this.#client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      ),
    );
  }

  close(): void {
    this.#client.destroy();
  }

  async #wrap<T>(key: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new AppError('unavailable', `storage failed on ${JSON.stringify(key)}`, { cause: err });
    }
  }
}
