/**
 * Rules shared by every storage adapter (keys, ranges, content types), so that
 * a call accepted by one adapter is accepted by all of them: S3 itself accepts
 * almost any key, the local directory does not.
 */
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { AppError } from '../errors.ts';

/** S3's limit, in UTF-8 bytes. */
export const maxKeyBytes = 1024;

// Control characters cannot be written in ListObjects XML 1.0 and have no
// business in a path; NUL would also truncate paths at the syscall boundary.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the point
const controlChars = /[\u0000-\u001f\u007f]/;

/**
 * Throws AppError('invalid_argument') unless `key` is a relative path of
 * non-empty segments. Segments starting with `.` are reserved: the local
 * adapter keeps its temporary and metadata files under such names, and it
 * also rules out `.` and `..`.
 */
export function assertValidKey(key: string): void {
  const problem = keyProblem(key, false);
  if (problem) throw invalid('key', key, problem);
}

/**
 * Like `assertValidKey`, for a prefix: it may be empty (everything) and may end
 * with `/`; it is a string prefix, so `a/b` also matches `a/bc`.
 */
export function assertValidPrefix(prefix: string): void {
  const problem = keyProblem(prefix, true);
  if (problem) throw invalid('prefix', prefix, problem);
}

function keyProblem(key: string, isPrefix: boolean): string | undefined {
  if (typeof key !== 'string') return 'must be a string';
  if (key === '') return isPrefix ? undefined : 'must not be empty';
  if (Buffer.byteLength(key, 'utf8') > maxKeyBytes) return `must be at most ${maxKeyBytes} bytes`;
  if (controlChars.test(key)) return 'must not contain control characters';
  if (key.includes('\\')) return 'must not contain backslashes';
  if (key.startsWith('/')) return 'must be relative';
  const segments = key.split('/');
  // A prefix like `videos/` ends with an empty segment; nothing else may.
  if (isPrefix && segments.at(-1) === '') segments.pop();
  for (const segment of segments) {
    if (segment === '') return 'must not contain empty segments';
    if (segment.startsWith('.')) return 'must not contain segments starting with "."';
  }
  return undefined;
}

function invalid(field: string, value: string, problem: string): AppError {
  // Keys are caller data, not secrets; a bounded excerpt helps debugging.
  const shown = JSON.stringify(String(value).slice(0, 80));
  return new AppError('invalid_argument', `storage ${field} ${shown} ${problem}`, {
    fields: [{ field, message: problem }],
  });
}

/** Throws AppError('invalid_argument') unless the range is whole numbers with start <= end. */
export function assertValidRange(range: { start: number; end?: number } | undefined): void {
  if (!range) return;
  const { start, end } = range;
  const ok =
    Number.isSafeInteger(start) &&
    start >= 0 &&
    (end === undefined || (Number.isSafeInteger(end) && end >= start));
  if (!ok) throw new AppError('invalid_argument', `invalid byte range ${start}-${end ?? ''}`);
}

/** What both adapters throw when a range starts at or past the end of the object. */
export function unsatisfiableRange(key: string, cause?: unknown): AppError {
  return new AppError(
    'invalid_argument',
    `byte range not satisfiable for storage key ${JSON.stringify(key)}`,
    {
      cause,
    },
  );
}

/**
 * Orders listings as S3 does (by UTF-8 bytes): both adapters sort with it, so
 * the order holds for S3-compatible servers that list in directory order.
 */
export function byKey(a: { key: string }, b: { key: string }): number {
  return Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8'));
}

/**
 * True when `err` is the failure of the caller's own stream body; put rethrows
 * it unchanged since it is not a storage error (an aborted upload, a crashed
 * encoder).
 */
export function isSourceError(body: unknown, err: unknown): boolean {
  return body instanceof Readable && body.errored != null && body.errored === err;
}

const contentTypes: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mpd': 'application/dash+xml',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.m4a': 'audio/mp4',
  '.ts': 'video/mp2t',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.json': 'application/json',
  '.vtt': 'text/vtt',
  '.txt': 'text/plain; charset=utf-8',
};

/** The fallback both adapters use when neither the caller nor the extension says otherwise. */
export const defaultContentType = 'application/octet-stream';

/** The content type implied by a key's extension, or `application/octet-stream`. */
export function contentTypeFor(key: string): string {
  return contentTypes[extname(key).toLowerCase()] ?? defaultContentType;
}
