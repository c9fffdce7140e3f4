import { AsyncLocalStorage } from 'node:async_hooks';
import { ulid } from './ids.ts';

/**
 * The request context that travels with a unit of work: an HTTP request, an
 * RPC, or a bus message. The request id crosses process boundaries in the
 * `x-request-id` header (HTTP and gRPC metadata) and the message envelope.
 */
export interface RequestContext {
  requestId: string;
}

export const REQUEST_ID_HEADER = 'x-request-id';

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** A request id from an incoming header if it is sane, otherwise a new one. */
export function acceptRequestId(incoming: string | string[] | undefined | null): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  if (value && /^[A-Za-z0-9._:-]{1,128}$/.test(value)) return value;
  return `req_${ulid()}`;
}
