import { Code, ConnectError } from '@connectrpc/connect';
import { AppError, type ErrorCode, type FieldViolation } from '../errors.ts';

/** AppError codes to gRPC codes: the one place this mapping lives. */
const toCode: Record<ErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  // gRPC has no "too large"; OUT_OF_RANGE plus the detail header round-trips it.
  payload_too_large: Code.OutOfRange,
  deadline_exceeded: Code.DeadlineExceeded,
  unavailable: Code.Unavailable,
  internal: Code.Internal,
};

const fromCode: Partial<Record<Code, ErrorCode>> = {
  [Code.Canceled]: 'unavailable',
  [Code.Unknown]: 'internal',
  [Code.InvalidArgument]: 'invalid_argument',
  [Code.DeadlineExceeded]: 'deadline_exceeded',
  [Code.NotFound]: 'not_found',
  [Code.AlreadyExists]: 'already_exists',
  [Code.PermissionDenied]: 'permission_denied',
  [Code.ResourceExhausted]: 'resource_exhausted',
  [Code.FailedPrecondition]: 'failed_precondition',
  [Code.Aborted]: 'failed_precondition',
  [Code.OutOfRange]: 'payload_too_large',
  [Code.Unimplemented]: 'internal',
  [Code.Internal]: 'internal',
  [Code.Unavailable]: 'unavailable',
  [Code.DataLoss]: 'internal',
  [Code.Unauthenticated]: 'unauthenticated',
};

const FIELDS_HEADER = 'wavecast-fields';
const RETRY_AFTER_HEADER = 'wavecast-retry-after';

export function grpcCode(code: ErrorCode): Code {
  return toCode[code];
}

/**
 * The ConnectError a server sends for an error. Only AppError messages cross
 * the wire; anything else becomes a bare "internal error" (the cause is
 * logged by the server, never sent).
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (!(err instanceof AppError)) return new ConnectError('internal error', Code.Internal);
  const metadata = new Headers();
  if (err.fields.length > 0) metadata.set(FIELDS_HEADER, asciiJson(err.fields));
  if (err.retryAfterSeconds !== undefined) metadata.set(RETRY_AFTER_HEADER, String(err.retryAfterSeconds));
  return new ConnectError(err.message, toCode[err.code], metadata);
}

/**
 * JSON whose non-ASCII characters are \u escapes: header values must be
 * visible ASCII, and a field message like "must not contain “…”" would
 * otherwise make the error itself fail. Still plain JSON for the reader.
 */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The AppError a client raises for a failed call, with fields restored. */
export function fromConnectError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const ce = ConnectError.from(err);
  const code = fromCode[ce.code] ?? 'internal';
  let fields: FieldViolation[] = [];
  const rawFields = ce.metadata.get(FIELDS_HEADER);
  if (rawFields) {
    try {
      fields = JSON.parse(rawFields) as FieldViolation[];
    } catch {
      fields = [];
    }
  }
  const retry = ce.metadata.get(RETRY_AFTER_HEADER);
  return new AppError(code, ce.rawMessage, {
    cause: ce,
    fields,
    ...(retry ? { retryAfterSeconds: Number(retry) } : {}),
  });
}
