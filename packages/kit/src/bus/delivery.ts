/**
 * What happens to one delivered message, decided the same way by both
 * adapters: run the handler inside the message's request context, then ack,
 * retry after a backoff, or dead-letter. The adapters only carry out the outcome.
 */
import { type ConsumeOptions, type Envelope, type Handler, PermanentError } from '../bus.ts';
import { runWithContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Logger } from '../log.ts';

/** Retries never wait longer than this, however many attempts are allowed. */
export const MAX_BACKOFF_MS = 5 * 60_000;
/** Dead-letter error texts are kept short: they travel in a message header. */
const MAX_ERROR_LENGTH = 2_000;

export type ResolvedConsumeOptions = Required<ConsumeOptions>;

export type Outcome = { kind: 'done' } | { kind: 'retry'; delayMs: number } | { kind: 'dead'; error: string };

/** Fills defaults and rejects nonsense (a zero prefetch would never deliver anything). */
export function resolveConsumeOptions(opts: ConsumeOptions = {}): ResolvedConsumeOptions {
  const resolved = {
    prefetch: opts.prefetch ?? 10,
    maxAttempts: opts.maxAttempts ?? 5,
    backoffMs: opts.backoffMs ?? 1000,
  };
  if (!Number.isSafeInteger(resolved.prefetch) || resolved.prefetch < 1 || resolved.prefetch > 65_535) {
    throw new AppError(
      'invalid_argument',
      `prefetch must be an integer from 1 to 65535, got ${resolved.prefetch}`,
    );
  }
  if (!Number.isSafeInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) {
    throw new AppError(
      'invalid_argument',
      `maxAttempts must be a positive integer, got ${resolved.maxAttempts}`,
    );
  }
  if (!Number.isSafeInteger(resolved.backoffMs) || resolved.backoffMs < 0) {
    throw new AppError(
      'invalid_argument',
      `backoffMs must be a non-negative integer, got ${resolved.backoffMs}`,
    );
  }
  return resolved;
}

/** Delay before delivering `attempt + 1`: backoffMs, 2×, 4×… capped at MAX_BACKOFF_MS. */
export function retryDelay(backoffMs: number, attempt: number): number {
  return Math.min(backoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
}

/** Runs `handler` for one delivery and decides the message's fate; never throws. */
export async function deliver(
  envelope: Envelope,
  handler: Handler,
  opts: ResolvedConsumeOptions,
  logger: Logger,
): Promise<Outcome> {
  const requestId = envelope.requestId ?? newId('req');
  return runWithContext({ requestId }, async (): Promise<Outcome> => {
    const log = { msgId: envelope.id, type: envelope.type, attempt: envelope.attempt };
    // Only reachable through redeliveries after a crash: earlier attempts already used the budget.
    if (envelope.attempt > opts.maxAttempts) {
      logger.error(log, 'bus message dead-lettered: redelivered after its last attempt');
      return {
        kind: 'dead',
        error: 'delivery attempts exhausted (redelivered after an unacknowledged attempt)',
      };
    }
    try {
      await handler(envelope);
      return { kind: 'done' };
    } catch (err) {
      const error = errorText(err);
      if (err instanceof PermanentError || envelope.attempt >= opts.maxAttempts) {
        logger.error({ ...log, err }, 'bus message dead-lettered');
        return { kind: 'dead', error };
      }
      const delayMs = retryDelay(opts.backoffMs, envelope.attempt);
      logger.warn({ ...log, err, delayMs }, 'bus handler failed; retrying');
      return { kind: 'retry', delayMs };
    }
  });
}

function errorText(err: unknown): string {
  const text =
    err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}
