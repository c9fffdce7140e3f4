/**
 * One application error type for all of Wavecast. Domain code throws `AppError`
 * with a code; each transport maps the code exactly once (see `httpStatus` and
 * `rpc.ts`), so no HTTP or gRPC notion leaks into business rules.
 */
export const errorCodes = [
  'invalid_argument',
  'unauthenticated',
  'permission_denied',
  'not_found',
  'already_exists',
  'failed_precondition',
  'resource_exhausted',
  'payload_too_large',
  'deadline_exceeded',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export interface FieldViolation {
  field: string;
  message: string;
}

export interface AppErrorOptions {
  cause?: unknown;
  /** Invalid fields, sent to the client with `invalid_argument`. */
  fields?: FieldViolation[];
  /** Seconds after which a `resource_exhausted` request may be retried. */
  retryAfterSeconds?: number;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly fields: FieldViolation[];
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.fields = options.fields ?? [];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  static is(err: unknown, code?: ErrorCode): err is AppError {
    return err instanceof AppError && (code === undefined || err.code === code);
  }
}

const httpStatuses: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 412,
  payload_too_large: 413,
  resource_exhausted: 429,
  deadline_exceeded: 504,
  unavailable: 503,
  internal: 500,
};

/** The HTTP status for an error code: the one place this mapping lives. */
export function httpStatus(code: ErrorCode): number {
  return httpStatuses[code];
}

/** Wraps anything thrown into an AppError; unknown failures become `internal`. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('internal', 'internal error', { cause: err });
}

export function isErrorCode(value: string): value is ErrorCode {
  return (errorCodes as readonly string[]).includes(value);
}
