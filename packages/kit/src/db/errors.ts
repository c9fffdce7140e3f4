/**
 * Classifies database errors. Connection-level failures become
 * AppError('unavailable') (HTTP 503) in one place, so repositories never
 * inspect driver errors themselves.
 */
import { AppError } from '../errors.ts';

/** Node socket errors and PostgreSQL SQLSTATEs that mean "the server is gone", not "the query is wrong". */
const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

// pg reports some lost connections only through the message text.
const connectionMessages =
  /Connection terminated|connection error|not queryable|Query read timeout|timeout exceeded when trying to connect/i;

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when `err` says the database cannot be reached (as opposed to a query being rejected). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = codeOf(err);
  if (code !== undefined && (connectionCodes.has(code) || code.startsWith('08'))) return true;
  // Node's happy-eyeballs connect (localhost → ::1 and 127.0.0.1) fails with an AggregateError.
  if (err instanceof AggregateError && err.errors.some(isConnectionError)) return true;
  return connectionMessages.test(err.message);
}

/**
 * Maps connection-level failures (refused, reset, timed out, server shutting
 * down, SQLSTATE class 08, "Connection terminated") to
 * `AppError('unavailable', 'database unavailable')` with the original as
 * cause; returns every other error unchanged.
 */
export function mapDbError(err: unknown): unknown {
  if (err instanceof AppError || !isConnectionError(err)) return err;
  return new AppError('unavailable', 'database unavailable', { cause: err });
}

/** True for a PostgreSQL unique violation (23505), optionally of the named constraint only. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (codeOf(err) !== '23505') return false;
  return constraint === undefined || (err as { constraint?: unknown }).constraint === constraint;
}

/** A one-line reason for a failed connect, e.g. `connect ECONNREFUSED`, without any URL or password. */
export function describeConnectFailure(err: unknown): string {
  const inner = err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err;
  const { syscall, code } = (inner ?? {}) as { syscall?: unknown; code?: unknown };
  if (typeof syscall === 'string' && typeof code === 'string') return `${syscall} ${code}`;
  const message = inner instanceof Error ? inner.message : String(inner);
  return message.split('\n')[0] || (typeof code === 'string' ? code : 'unknown error');
}
