/**
 * Picks and opens a storage adapter from a URL: `file:<dir>` or `s3://bucket?…`.
 * Malformed URLs fail here, at startup, with a message that never repeats the
 * credentials a URL may carry.
 */
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Storage } from '../storage.ts';
import { openLocalStorage } from './local.ts';
import { openS3Storage } from './s3.ts';

export interface OpenStorageOptions {
  logger?: Logger;
}

const s3Params = new Set([
  'endpoint',
  'region',
  'forcePathStyle',
  'create',
  'accessKeyId',
  'secretAccessKey',
]);

/**
 * Opens storage from a URL:
 * - `file:./relative/dir`, `file:/abs/dir` or `file:///abs/dir`: a local
 *   directory, created if missing (relative to the working directory).
 * - `s3://bucket?endpoint=http://127.0.0.1:4569&region=us-east-1&forcePathStyle=true`:
 *   an S3 bucket. Optional `accessKeyId` and `secretAccessKey` (otherwise the
 *   SDK's default chain: AWS_ACCESS_KEY_ID, profiles, roles), and `create=true`
 *   to create the bucket when missing (development).
 */
export async function openStorage(url: string, opts: OpenStorageOptions = {}): Promise<Storage> {
  if (url.startsWith('file:')) {
    const storage = await openLocalStorage(localDir(url));
    opts.logger?.debug({ kind: storage.kind }, 'storage opened');
    return storage;
  }
  if (url.startsWith('s3://')) {
    const s3 = parseS3Url(url);
    const storage = await openS3Storage({ ...s3, logger: opts.logger });
    // Deliberately not the URL: it may hold a secret key.
    opts.logger?.debug({ kind: storage.kind, bucket: s3.bucket, endpoint: s3.endpoint }, 'storage opened');
    return storage;
  }
  throw invalid(`unsupported storage URL scheme in ${JSON.stringify(url.split(':')[0])}; use file: or s3:`);
}

/** The directory of a `file:` URL; `file:./x` is relative, which WHATWG URLs cannot express. */
function localDir(url: string): string {
  const rest = url.slice('file:'.length);
  if (rest.startsWith('//')) {
    try {
      return fileURLToPath(url);
    } catch (err) {
      throw invalid(`invalid file URL: ${(err as Error).message}`);
    }
  }
  if (rest === '') throw invalid('file: storage URL needs a directory, e.g. file:./data/storage');
  return rest;
}

function parseS3Url(url: string) {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('malformed s3: storage URL');
  }
  const q = parsed.searchParams;
  const unknown = [...q.keys()].filter((k) => !s3Params.has(k));
  const problems: string[] = [];
  if (!parsed.hostname) problems.push('a bucket name is required (s3://bucket)');
  if (parsed.pathname !== '' && parsed.pathname !== '/')
    problems.push('key prefixes in the URL are not supported');
  if (parsed.username || parsed.password) problems.push('pass credentials as accessKeyId/secretAccessKey');
  if (unknown.length > 0) problems.push(`unknown parameters: ${unknown.join(', ')}`);
  const accessKeyId = q.get('accessKeyId');
  const secretAccessKey = q.get('secretAccessKey');
  if (!accessKeyId !== !secretAccessKey) problems.push('accessKeyId and secretAccessKey go together');
  const endpoint = q.get('endpoint') ?? undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint))
    problems.push('endpoint must be an http(s) URL');
  const forcePathStyle = flag(q.get('forcePathStyle'), 'forcePathStyle', problems);
  const create = flag(q.get('create'), 'create', problems);
  if (problems.length > 0) throw invalid(`invalid s3: storage URL: ${problems.join('; ')}`);
  return {
    bucket: parsed.hostname,
    // The SDK's own variables, then a default: without one, a missing region
    // would only fail on the first request.
    region: q.get('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint,
    forcePathStyle,
    create,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
  };
}

function flag(value: string | null, name: string, problems: string[]): boolean {
  if (value === null || value === 'false') return false;
  if (value === 'true' || value === '') return true;
  problems.push(`${name} must be true or false`);
  return false;
}

function invalid(message: string): AppError {
  return new AppError('invalid_argument', message);
}
