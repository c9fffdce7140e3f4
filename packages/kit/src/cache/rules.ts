/**
 * Argument rules shared by both cache adapters, so `memory:` and Redis reject
 * the same inputs with the same error.
 */
import type { SetOptions, SortedRangeOptions } from '../cache.ts';
import { AppError } from '../errors.ts';

/** The TTL in whole milliseconds (rounded up so a tiny TTL never means "forever"), or undefined. */
export function ttlOf(opts: SetOptions | undefined): number | undefined {
  const ttl = opts?.ttlMs;
  if (ttl === undefined) return undefined;
  if (!Number.isFinite(ttl) || ttl <= 0) {
    throw new AppError(
      'invalid_argument',
      `cache ttlMs must be a positive number of milliseconds, got ${ttl}`,
    );
  }
  return Math.ceil(ttl);
}

/** The increment step; Redis INCRBY takes 64-bit integers, we keep to the safe-integer range. */
export function stepOf(by: number | undefined): number {
  const step = by ?? 1;
  if (!Number.isSafeInteger(step)) {
    throw new AppError('invalid_argument', `cache increment step must be a safe integer, got ${step}`);
  }
  return step;
}

export function notAnInteger(key: string): AppError {
  return new AppError('failed_precondition', `cache value at ${key} is not an integer`);
}

/** A sorted-set score: any finite number (Redis takes doubles; infinities stay out of our API). */
export function scoreOf(score: number): number {
  if (!Number.isFinite(score)) {
    throw new AppError('invalid_argument', `cache sorted-set score must be a finite number, got ${score}`);
  }
  return score;
}

/** The validated window of a range: offset, and limit (undefined = to the end). */
export function windowOf(opts: SortedRangeOptions | undefined): {
  offset: number;
  limit: number | undefined;
} {
  const offset = opts?.offset ?? 0;
  const limit = opts?.limit;
  for (const [name, value] of [
    ['offset', offset],
    ['limit', limit],
  ] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new AppError(
        'invalid_argument',
        `cache range ${name} must be a non-negative integer, got ${value}`,
      );
    }
  }
  return { offset, limit };
}

/** A command met a key holding another kind of value (a string where a sorted set was expected, or back). */
export function wrongKind(key: string): AppError {
  return new AppError('failed_precondition', `cache value at ${key} is of another kind`);
}
