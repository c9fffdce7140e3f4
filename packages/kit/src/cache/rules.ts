/**
 * Argument rules shared by both cache adapters, so `memory:` and Redis reject
 * the same inputs with the same error.
 */
import type { SetOptions } from '../cache.ts';
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
