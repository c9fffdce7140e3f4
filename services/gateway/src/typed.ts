import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawServerDefault } from 'fastify';

/** The gateway's Fastify instance: route schemas (TypeBox) type the handlers. */
export type TypedApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export type Hook = (request: FastifyRequest) => Promise<void>;

export interface AuthHooks {
  authenticate: Hook;
  identify: Hook;
  requireAdmin: Hook;
}
