/**
 * Building, encoding and checking message envelopes, and the naming rules
 * both bus adapters enforce, so `memory:` and RabbitMQ accept the same input.
 */
import type { Envelope } from '../bus.ts';
import { currentRequestId } from '../context.ts';
import { AppError } from '../errors.ts';
import { type IdPrefix, newId } from '../ids.ts';

/** A new first-attempt envelope carrying the caller's request id, if any. */
export function createEnvelope(
  type: string,
  data: unknown,
  id: string | undefined,
  idPrefix: IdPrefix,
): Envelope {
  const requestId = currentRequestId();
  return {
    id: id ?? newId(idPrefix),
    type,
    occurredAt: new Date().toISOString(),
    ...(requestId === undefined ? {} : { requestId }),
    attempt: 1,
    data,
  };
}

/** JSON text: what travels through RabbitMQ, and what the memory adapter stores so both copy data alike. */
export function encodeEnvelope(envelope: Envelope): string {
  const text = JSON.stringify(envelope);
  if (text === undefined)
    throw new AppError('invalid_argument', 'bus message data must be JSON-serialisable');
  return text;
}

/** Parses and checks an envelope; throws on anything a peer could not have published. */
export function decodeEnvelope(text: string): Envelope {
  const value: unknown = JSON.parse(text);
  const env = value as Partial<Envelope> | null;
  if (
    typeof env !== 'object' ||
    env === null ||
    typeof env.id !== 'string' ||
    typeof env.type !== 'string' ||
    typeof env.occurredAt !== 'string' ||
    !Number.isSafeInteger(env.attempt) ||
    (env.requestId !== undefined && typeof env.requestId !== 'string')
  ) {
    throw new Error('malformed message envelope');
  }
  return env as Envelope;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const WORD = '[A-Za-z0-9_-]+';
const EVENT_TYPE = new RegExp(`^${WORD}(\\.${WORD})*$`);
const PATTERN = new RegExp(`^(${WORD}|\\*|#)(\\.(${WORD}|\\*|#))*$`);

/** Queue and group names: short enough to leave room for the prefix and `.retry.<ms>`. */
export function assertName(what: 'queue' | 'group', name: string): void {
  if (!NAME.test(name)) {
    throw new AppError('invalid_argument', `invalid bus ${what} name ${JSON.stringify(name)}`);
  }
}

/** Event and job types are dot-separated words without wildcards, e.g. `video.published.v1`. */
export function assertType(type: string): void {
  if (type.length > 200 || !EVENT_TYPE.test(type)) {
    throw new AppError('invalid_argument', `invalid bus message type ${JSON.stringify(type)}`);
  }
}

export function assertPatterns(patterns: string[]): void {
  if (patterns.length === 0) throw new AppError('invalid_argument', 'subscribe needs at least one pattern');
  for (const pattern of patterns) {
    if (pattern.length > 200 || !PATTERN.test(pattern)) {
      throw new AppError('invalid_argument', `invalid bus topic pattern ${JSON.stringify(pattern)}`);
    }
  }
}

export function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new AppError('invalid_argument', `limit must be a positive integer, got ${limit}`);
  }
}
