import type { TokenPair } from '@wavecast/contracts/gen/wavecast/auth/v1/auth_pb.js';
import type { User } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import { AppError } from '@wavecast/kit/errors';
import Type from 'typebox';
import type { GatewayDeps } from '../deps.ts';
import { bearerToken } from '../plugins/auth.ts';
import { errorResponses, LoginBody, RefreshBody, RegisterBody } from '../schemas.ts';
import type { AuthHooks, TypedApp } from '../typed.ts';
import { privateUser } from '../views.ts';

function session(res: { user?: User | undefined; tokens?: TokenPair | undefined }) {
  if (!res.user || !res.tokens) throw new AppError('internal', 'auth service returned an incomplete session');
  return {
    user: privateUser(res.user),
    access_token: res.tokens.accessToken,
    refresh_token: res.tokens.refreshToken,
    token_type: 'Bearer' as const,
    expires_in: res.tokens.expiresIn,
  };
}

export function authRoutes(app: TypedApp, deps: GatewayDeps, hooks: AuthHooks) {
  const limited = { rateLimit: { max: deps.config.authRateLimitPerMinute || 1e9, timeWindow: 60_000 } };
  app.post(
    '/v1/auth/register',
    {
      config: limited,
      schema: {
        'x-audience': 'public',
        security: [],
        tags: ['auth'],
        operationId: 'register',
        summary: 'Create an account and log in',
        body: RegisterBody,
        response: { 201: Type.Ref('AuthSession'), ...errorResponses(400, 409, 413, 429) },
      },
    },
    async (request, reply) => {
      const { username, email, password } = request.body;
      const res = await deps.auth.register({ username, email, password, clientIp: request.ip });
      return reply.code(201).send(session(res));
    },
  );

  app.post(
    '/v1/auth/login',
    {
      config: limited,
      schema: {
        'x-audience': 'public',
        security: [],
        tags: ['auth'],
        operationId: 'login',
        summary: 'Log in with username or email and password',
        body: LoginBody,
        response: { 200: Type.Ref('AuthSession'), ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) =>
      session(
        await deps.auth.login({
          login: request.body.login,
          password: request.body.password,
          clientIp: request.ip,
        }),
      ),
  );

  app.post(
    '/v1/auth/refresh',
    {
      config: limited,
      schema: {
        'x-audience': 'public',
        security: [],
        tags: ['auth'],
        operationId: 'refresh',
        summary: 'Exchange a refresh token for a new token pair',
        description: 'Refresh tokens are single-use. Presenting one twice ends the whole session.',
        body: RefreshBody,
        response: { 200: Type.Ref('AuthSession'), ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => session(await deps.auth.refresh({ refreshToken: request.body.refresh_token })),
  );

  app.post(
    '/v1/auth/logout',
    {
      preHandler: hooks.authenticate,
      schema: {
        'x-audience': 'private',
        tags: ['auth'],
        operationId: 'logout',
        summary: 'End the current session',
        security: [{ bearerAuth: [] }],
        response: { 204: Type.Null({ description: 'Logged out' }), ...errorResponses(401) },
      },
    },
    async (request, reply) => {
      await deps.auth.logout({ accessToken: bearerToken(request) });
      return reply.code(204).send(null);
    },
  );
}
