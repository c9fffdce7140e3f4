/**
 * Where the storage port keeps its objects, read from the same `STORAGE_URL`
 * it was opened with: the tus data stores and the S3 presigner must write to
 * exactly that directory or bucket. The URL was already validated by
 * `openStorage`, so this only reads it.
 */
import { realpath } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { AppError } from '@wavecast/kit/errors';

export type StorageTarget =
  | { kind: 'local'; root: string }
  | { kind: 's3'; bucket: string; client: S3ClientConfig };

export async function storageTarget(url: string): Promise<StorageTarget> {
  if (url.startsWith('file:')) {
    const rest = url.slice('file:'.length);
    // The real path, as the local adapter resolves it, so renames land in its tree.
    return { kind: 'local', root: await realpath(rest.startsWith('//') ? fileURLToPath(url) : rest) };
  }
  if (url.startsWith('s3://')) {
    const parsed = new URL(url);
    const q = parsed.searchParams;
    const accessKeyId = q.get('accessKeyId');
    const secretAccessKey = q.get('secretAccessKey');
    return {
      kind: 's3',
      bucket: parsed.hostname,
      client: {
        region: q.get('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        endpoint: q.get('endpoint') ?? undefined,
        forcePathStyle: q.get('forcePathStyle') === 'true' || q.get('forcePathStyle') === '',
        credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
      },
    };
  }
  throw new AppError('invalid_argument', 'uploads need file: or s3: storage');
}
