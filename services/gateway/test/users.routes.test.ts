/**
 * GET /v1/users/{id}: a miss asks the users service inside the request's
 * context (so the RPC carries the request id), a hit is answered from the
 * process's near cache without asking anyone.
 */
import { create } from '@bufbuild/protobuf';
import { UserSchema } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import { openCache } from '@wavecast/kit/cache';
import { currentRequestId } from '@wavecast/kit/context';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayDeps } from '../src/deps.ts';
import { registerErrorHandling } from '../src/plugins/errors.ts';
import { ProfileCache } from '../src/profile-cache.ts';
import { userRoutes } from '../src/routes/users.routes.ts';
import { sharedSchemas } from '../src/schemas.ts';
import type { AuthHooks, TypedApp } from '../src/typed.ts';

const ada = create(UserSchema, { id: 'usr_01HZZZZZZZZZZZZZZZZZZZZZZZ', username: 'ada', displayName: 'Ada' });
const calls: { key: unknown; requestId: string | undefined }[] = [];
const cache = await openCache('memory:');
const deps = {
  profiles: new ProfileCache(cache, 60),
  users: {
    async getUser(req: { key: { case: string; value: string } }) {
      calls.push({ key: req.key.value, requestId: currentRequestId() });
      return { user: req.key.value === ada.id || req.key.value === 'ada' ? ada : undefined };
    },
  },
} as unknown as GatewayDeps;
const noHooks = {} as AuthHooks;

const app = Fastify({ genReqId: (req) => String(req.headers['x-request-id'] ?? 'req_generated') });

beforeAll(async () => {
  for (const schema of sharedSchemas) app.addSchema(schema);
  registerErrorHandling(app as unknown as TypedApp, 1024);
  userRoutes(app as unknown as TypedApp, deps, noHooks);
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await cache.close();
});

describe('GET /v1/users/{id_or_username}', () => {
  it('asks the users service once, in the request context, then answers from the near cache', async () => {
    const first = await app.inject({ url: `/v1/users/${ada.id}`, headers: { 'x-request-id': 'req_first' } });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ id: ada.id, username: 'ada', display_name: 'Ada' });
    expect(first.headers['cache-control']).toBe('public, max-age=10');
    expect(calls).toEqual([{ key: ada.id, requestId: 'req_first' }]);

    const again = await app.inject({ url: `/v1/users/${ada.id}`, headers: { 'x-request-id': 'req_again' } });
    expect(again.body).toBe(first.body);
    expect(again.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(again.headers['cache-control']).toBe('public, max-age=10');
    // The profile was stored under its username too.
    expect((await app.inject({ url: '/v1/users/ADA' })).body).toBe(first.body);
    expect(calls).toHaveLength(1);
  });

  it('answers 404 for an unknown user and remembers nothing', async () => {
    const res = await app.inject({ url: '/v1/users/nobody', headers: { 'x-request-id': 'req_missing' } });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: 'not_found', request_id: 'req_missing' });
    expect(calls.at(-1)).toEqual({ key: 'nobody', requestId: 'req_missing' });
    expect(deps.profiles.peek('nobody')).toBeUndefined();
  });
});
