import { failingChecks } from '@wavecast/kit/http';
import Type from 'typebox';
import type { GatewayDeps } from '../deps.ts';
import type { TypedApp } from '../typed.ts';

const system = { 'x-audience': 'public', tags: ['system'], security: [] };
const JWKS_TTL_MS = 60_000;

export function systemRoutes(app: TypedApp, deps: GatewayDeps) {
  let jwks: { doc: { keys: object[] }; at: number } | undefined;

  app.get(
    '/.well-known/jwks.json',
    {
      config: { rateLimit: false },
      schema: {
        ...system,
        operationId: 'getJwks',
        summary: 'Public keys that verify Wavecast access tokens (JWK Set)',
        response: {
          200: Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) }),
        },
      },
    },
    async (_request, reply) => {
      if (!jwks || Date.now() - jwks.at > JWKS_TTL_MS) {
        const res = await deps.auth.getJwks({});
        jwks = { doc: JSON.parse(res.jwksJson) as { keys: object[] }, at: Date.now() };
      }
      reply.header('cache-control', 'public, max-age=300');
      return jwks.doc;
    },
  );

  app.get(
    '/healthz',
    {
      config: { rateLimit: false },
      schema: {
        ...system,
        operationId: 'getHealth',
        summary: 'Liveness: the process answers',
        response: { 200: Type.Object({ status: Type.String() }) },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { rateLimit: false },
      schema: {
        ...system,
        operationId: 'getReadiness',
        summary: 'Readiness: every dependency answers',
        response: {
          200: Type.Object({ status: Type.String() }),
          503: Type.Object({ status: Type.String(), failures: Type.Record(Type.String(), Type.String()) }),
        },
      },
    },
    async (_request, reply) => {
      const failures = await failingChecks(deps.readiness);
      if (Object.keys(failures).length > 0) return reply.code(503).send({ status: 'not ready', failures });
      return { status: 'ready' };
    },
  );

  app.get(
    '/metrics',
    {
      config: { rateLimit: false },
      schema: {
        ...system,
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        produces: ['text/plain'],
      },
    },
    async (_request, reply) => {
      const text = await deps.metrics.registry.metrics();
      return reply.type(deps.metrics.registry.contentType).send(text);
    },
  );
}
