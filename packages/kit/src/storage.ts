/**
 * The storage port: objects by key. Adapters: a local directory
 * (`file:<dir>`) and any S3 API (`s3://bucket?endpoint=…&region=…`).
 * Keys are relative paths like `videos/vid_…/master.m3u8`; `..`, absolute
 * paths and empty segments are rejected with AppError('invalid_argument'),
 * as are backslashes, control characters, segments starting with `.`
 * (reserved) and keys over 1024 UTF-8 bytes: the same rules on every adapter.
 * Implementation lives in ./storage/.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  contentType?: string;
  modifiedAt: Date;
}

export interface Storage {
  readonly kind: 'local' | 's3';
  /**
   * Writes atomically: readers see the old object or the whole new one.
   * `contentType` defaults to the one implied by the key's extension
   * (`.m3u8`, `.m4s`, `.ts`, `.mp4`, …), else `application/octet-stream`.
   * When a stream body fails, put rejects with that stream's own error and
   * the previous object, if any, stays.
   */
  put(
    key: string,
    body: Buffer | Uint8Array | string | Readable,
    opts?: { contentType?: string },
  ): Promise<void>;
  /**
   * A stream of the object (optionally a byte range, inclusive); AppError('not_found') when absent.
   * An `end` past the object is clamped; a `start` at or past it is AppError('invalid_argument').
   */
  get(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Idempotent. */
  delete(key: string): Promise<void>;
  /** Deletes every object under `prefix` (never `''`: that is AppError('invalid_argument')); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * Objects whose key starts with `prefix` (a string prefix: `a/b` matches
   * `a/bc`, `a/b/` does not), at any depth, sorted by key. Without
   * `contentType` (S3 listings lack it); use `head` for that.
   */
  list(prefix: string): Promise<ObjectInfo[]>;
  /**
   * A URL anyone can GET the object from for `ttlSeconds` (1 s to 7 days),
   * without credentials: S3 presigned URLs. Only adapters whose objects are
   * reachable by URL have it (not the local directory).
   */
  presignGet?(key: string, ttlSeconds: number): Promise<string>;
  /** Resolves when the storage is reachable (and, locally, writable); AppError('unavailable') otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export { openStorage } from './storage/open.ts';
