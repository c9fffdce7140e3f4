import { AppError } from '@wavecast/kit/errors';
import Type from 'typebox';
import type { GatewayDeps } from '../deps.ts';
import { caller } from '../plugins/auth.ts';
import { BanBody, errorResponses, UserIdParams, UserListQuery } from '../schemas.ts';
import type { AuthHooks, TypedApp } from '../typed.ts';
import { adminUser } from '../views.ts';

const admin = {
  'x-audience': 'admin',
  tags: ['admin'],
  security: [{ bearerAuth: [] }],
};

export function adminRoutes(app: TypedApp, deps: GatewayDeps, hooks: AuthHooks) {
  app.get(
    '/v1/admin/users',
    {
      preHandler: hooks.requireAdmin,
      schema: {
        ...admin,
        operationId: 'listUsers',
        summary: 'List users, newest first',
        querystring: UserListQuery,
        response: { 200: Type.Ref('UserList'), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const q = request.query;
      const res = await deps.users.listUsers({
        actorId: caller(request).sub,
        pageSize: q.limit ?? 20,
        pageToken: q.cursor ?? '',
        query: q.q ?? '',
        banned: q.banned,
      });
      return { users: res.users.map(adminUser), next_cursor: res.nextPageToken || null };
    },
  );

  app.post(
    '/v1/admin/users/:id/ban',
    {
      preHandler: hooks.requireAdmin,
      schema: {
        ...admin,
        operationId: 'banUser',
        summary: 'Ban a user: ends their sessions and refuses their logins',
        params: UserIdParams,
        body: Type.Optional(BanBody),
        response: { 200: Type.Ref('AdminUser'), ...errorResponses(400, 401, 403, 404, 412) },
      },
    },
    async (request) => {
      const { user } = await deps.users.banUser({
        actorId: caller(request).sub,
        userId: request.params.id,
        reason: request.body?.reason ?? '',
      });
      if (!user) throw new AppError('internal', 'users service returned no user');
      return adminUser(user);
    },
  );

  app.post(
    '/v1/admin/users/:id/unban',
    {
      preHandler: hooks.requireAdmin,
      schema: {
        ...admin,
        operationId: 'unbanUser',
        summary: 'Lift a ban',
        params: UserIdParams,
        response: { 200: Type.Ref('AdminUser'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { user } = await deps.users.unbanUser({
        actorId: caller(request).sub,
        userId: request.params.id,
      });
      if (!user) throw new AppError('internal', 'users service returned no user');
      return adminUser(user);
    },
  );
}
