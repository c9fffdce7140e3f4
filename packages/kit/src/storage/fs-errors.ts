/**
 * Maps file-system errors of the local adapter to AppError codes, once, so the
 * adapter reads as the happy path.
 */
import { AppError, type ErrorCode } from '../errors.ts';

/** True for the codes that mean "no such object" (ENOTDIR: a parent is a file). */
export function isMissing(err: unknown): boolean {
  return hasCode(err, 'ENOENT', 'ENOTDIR');
}

export function hasCode(err: unknown, ...codes: string[]): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && codes.includes(code);
}

const codes: Record<string, ErrorCode> = {
  ENOENT: 'not_found',
  ENOTDIR: 'not_found',
  // One file per key cannot hold both `a/b` and `a/b/c` (S3 can).
  EISDIR: 'failed_precondition',
  EEXIST: 'failed_precondition',
  ENAMETOOLONG: 'invalid_argument',
  // Full disks and exhausted descriptors pass; the caller may retry later.
  ENOSPC: 'unavailable',
  EDQUOT: 'unavailable',
  EMFILE: 'unavailable',
  ENFILE: 'unavailable',
  EIO: 'unavailable',
  EBUSY: 'unavailable',
};

/**
 * Wraps a file-system error for `key`; AppErrors (from validation) pass
 * through unchanged. When writing, a missing or non-directory parent means a
 * conflict with another key, not a missing object.
 */
export function fsError(err: unknown, key: string, op: 'read' | 'write' = 'read'): AppError {
  if (err instanceof AppError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const mapped = codes[errno] ?? 'internal';
  const code = op === 'write' && mapped === 'not_found' ? 'failed_precondition' : mapped;
  const what =
    code === 'not_found'
      ? 'no storage object'
      : code === 'failed_precondition'
        ? 'storage key conflicts with an existing object or directory:'
        : `storage ${errno || 'error'} on`;
  return new AppError(code, `${what} ${JSON.stringify(key)}`, { cause: err });
}
