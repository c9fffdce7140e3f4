import type { User } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import { runWithContext } from '@wavecast/kit/context';
import { AppError } from '@wavecast/kit/errors';
import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import type { GatewayDeps } from '../deps.ts';
import { caller } from '../plugins/auth.ts';
import { errorResponses, ProfilePatchBody, UserKeyParams } from '../schemas.ts';
import type { AuthHooks, TypedApp } from '../typed.ts';
import { privateUser, publicUser } from '../views.ts';

async function me(deps: GatewayDeps, userId: string): Promise<User> {
  const { user } = await deps.users.getUser({ key: { case: 'id', value: userId } });
  if (!user) throw new AppError('not_found', 'user not found');
  return user;
}

export function userRoutes(app: TypedApp, deps: GatewayDeps, hooks: AuthHooks) {
  app.get(
    '/v1/me',
    {
      preHandler: hooks.authenticate,
      schema: {
        'x-audience': 'private',
        tags: ['me'],
        operationId: 'getMe',
        summary: 'Your account',
        security: [{ bearerAuth: [] }],
        response: { 200: Type.Ref('PrivateUser'), ...errorResponses(401, 404) },
      },
    },
    async (request) => privateUser(await me(deps, caller(request).sub)),
  );

  app.patch(
    '/v1/me',
    {
      preHandler: hooks.authenticate,
      schema: {
        'x-audience': 'private',
        tags: ['me'],
        operationId: 'updateMe',
        summary: 'Update your profile',
        security: [{ bearerAuth: [] }],
        body: ProfilePatchBody,
        response: { 200: Type.Ref('PrivateUser'), ...errorResponses(400, 401, 404, 413) },
      },
    },
    async (request) => {
      const { display_name, bio, avatar_url } = request.body;
      const { user } = await deps.users.updateProfile({
        userId: caller(request).sub,
        displayName: display_name,
        bio,
        avatarUrl: avatar_url,
      });
      if (!user) throw new AppError('internal', 'users service returned no user');
      return privateUser(user);
    },
  );

  app.get(
    '/v1/users/:id_or_username',
    {
      schema: {
        'x-audience': 'public',
        security: [],
        tags: ['users'],
        operationId: 'getUser',
        summary: 'A public profile, by id or username',
        params: UserKeyParams,
        response: { 200: Type.Ref('PublicUser'), ...errorResponses(404) },
      },
      config: { requestContext: 'handler' },
    },
    (request, reply) => {
      const key = request.params.id_or_username;
      // A profile this process read moments ago is answered at once, without a
      // promise or an async context; anything else reads in the request's context.
      const near = deps.profiles.peek(key);
      if (near === undefined)
        return runWithContext({ requestId: request.id }, () => readProfile(deps, key, reply));
      sendProfile(reply, near);
    },
  );
}

function sendProfile(reply: FastifyReply, json: string): FastifyReply {
  return reply
    .header('cache-control', 'public, max-age=10')
    .type('application/json; charset=utf-8')
    .send(json);
}

/** From the shared cache, else from the users service (and then cached). */
async function readProfile(deps: GatewayDeps, key: string, reply: FastifyReply): Promise<FastifyReply> {
  reply.header('cache-control', 'public, max-age=10');
  const cached = await deps.profiles.get(key);
  if (cached !== null) return sendProfile(reply, cached);
  const { user } = await deps.users.getUser({
    key: key.startsWith('usr_') ? { case: 'id', value: key } : { case: 'username', value: key },
  });
  if (!user) throw new AppError('not_found', 'user not found');
  const json = JSON.stringify(publicUser(user));
  await deps.profiles.put(user, json);
  return sendProfile(reply, json);
}
