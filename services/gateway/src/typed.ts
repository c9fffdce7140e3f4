import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawServerDefault } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * `'handler'`: the route enters the request id's async context itself,
     * where it logs or calls a service (see app.ts); by default the gateway
     * enters it before the route's hooks.
     */
    requestContext?: 'handler';
  }
}

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
