/**
 * Maps AWS SDK errors of the S3 adapter to AppError codes, once. The SDK puts
 * the HTTP status in `$metadata`; network failures have none.
 */
import { AppError } from '../errors.ts';
import { unsatisfiableRange } from './rules.ts';

interface SdkError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The HTTP status of an SDK error, if the server answered at all. */
export function httpStatusOf(err: unknown): number | undefined {
  return (err as SdkError | undefined)?.$metadata?.httpStatusCode;
}

/** True when S3 says the object (or, for HeadBucket, the bucket) does not exist. */
export function isNotFound(err: unknown): boolean {
  const name = (err as SdkError | undefined)?.name;
  return (
    name === 'NoSuchKey' || name === 'NotFound' || (httpStatusOf(err) === 404 && name !== 'NoSuchBucket')
  );
}

// Failures of configuration or programming: retrying will not help.
const notTransient = new Set(['CredentialsProviderError', 'TypeError', 'RangeError', 'AbortError']);

/** Wraps an SDK error for `key`; AppErrors pass through unchanged. */
export function s3Error(err: unknown, key: string): AppError {
  if (err instanceof AppError) return err;
  const status = httpStatusOf(err);
  const name = (err as SdkError | undefined)?.name ?? 'Error';
  if (isNotFound(err))
    return new AppError('not_found', `no storage object ${JSON.stringify(key)}`, { cause: err });
  if (name === 'InvalidRange' || status === 416) return unsatisfiableRange(key, err);
  // No status: connection refused, reset, DNS, timeout. 5xx and throttling: S3 asks to retry.
  const transient = status === undefined ? !notTransient.has(name) : status >= 500 || status === 429;
  return new AppError(transient ? 'unavailable' : 'internal', `storage ${name} on ${JSON.stringify(key)}`, {
    cause: err,
  });
}
