import { type Logger, pino } from 'pino';
import { currentRequestId } from './context.ts';

export type { Logger } from 'pino';

export interface LogOptions {
  service: string;
  level?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to inspect output. */
  destination?: pino.DestinationStream;
}

/** Paths whose values are never written to a log, whatever logs them. */
export const redactedPaths = [
  'password',
  '*.password',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'secret',
  '*.secret',
  'stream_key',
  '*.stream_key',
];

/**
 * A pino logger for one service. Every line carries the service name and, when
 * inside a request context, the request id.
 */
export function createLogger(opts: LogOptions): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.service },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      mixin() {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination,
  );
}
