import { AppError } from '@wavecast/kit/errors';
import type { AccessClaims, TokenVerifier } from '@wavecast/kit/tokens';
import type { FastifyRequest } from 'fastify';
import type { AuthHooks, TypedApp } from '../typed.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token of the caller, on routes that require one. */
    claims: AccessClaims | null;
  }
}

export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header)
    throw new AppError('unauthenticated', 'this needs an Authorization: Bearer <access token> header');
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1])
    throw new AppError('unauthenticated', 'Authorization header must be "Bearer <access token>"');
  return match[1];
}

/**
 * Pre-handlers that check the caller: `authenticate` verifies the token on
 * every request (signature, expiry, deny-list); `identify` does so only when
 * a token is sent (routes open to anyone that answer owners differently);
 * `requireAdmin` adds the role.
 * The owning service re-checks authorisation on its own data.
 */
export function authHooks(app: TypedApp, verifier: TokenVerifier): AuthHooks {
  app.decorateRequest('claims', null);
  const authenticate = async (request: FastifyRequest) => {
    request.claims = await verifier.verify(bearerToken(request));
  };
  // Anonymous without a header; a header that does not verify is still a 401, so a client learns its token expired.
  const identify = async (request: FastifyRequest) => {
    if (request.headers.authorization !== undefined) await authenticate(request);
  };
  const requireAdmin = async (request: FastifyRequest) => {
    await authenticate(request);
    if (request.claims?.role !== 'admin')
      throw new AppError('permission_denied', 'this needs the admin role');
  };
  return { authenticate, identify, requireAdmin };
}

/** The claims of an authenticated route (set by `authenticate`). */
export function caller(request: FastifyRequest): AccessClaims {
  if (!request.claims) throw new AppError('unauthenticated', 'not authenticated');
  return request.claims;
}
