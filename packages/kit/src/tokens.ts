/**
 * Access-token verification that any service runs locally: EdDSA signature
 * against the JWKS published by the auth service, issuer/audience/expiry, and
 * the deny-list in the cache port (logged-out tokens, ended sessions). The deny-list key names live here because the auth service writes
 * them and every verifier reads them.
 */
import { createLocalJWKSet, type JSONWebKeySet, errors as joseErrors, jwtVerify } from 'jose';
import type { Cache } from './cache.ts';
import { AppError } from './errors.ts';

export const TOKEN_ISSUER = 'wavecast';
export const TOKEN_AUDIENCE = 'wavecast';

export interface AccessClaims {
  /** User id. */
  sub: string;
  /** Session (refresh-token family) id. */
  sid: string;
  jti: string;
  role: 'user' | 'admin';
  /** Username at issue time. */
  name: string;
  iat: number;
  exp: number;
}

export const denyKeys = {
  /** One access token, until it expires. */
  token: (jti: string) => `auth:deny:jti:${jti}`,
  /** Every access token of a session (logout, refresh-token reuse, ban). */
  session: (sid: string) => `auth:deny:sid:${sid}`,
};

const unauthenticated = (message: string) => new AppError('unauthenticated', message);

export interface TokenVerifierOptions {
  fetchJwks: () => Promise<JSONWebKeySet>;
  cache: Cache;
  /** An unknown `kid` triggers a JWKS refetch at most this often (default 30 s). */
  refetchIntervalMs?: number;
}

export class TokenVerifier {
  readonly #opts: TokenVerifierOptions;
  #keys: ReturnType<typeof createLocalJWKSet> | undefined;
  #fetchedAt = 0;
  #fetching: Promise<void> | undefined;

  constructor(opts: TokenVerifierOptions) {
    this.#opts = opts;
  }

  async #refresh(): Promise<void> {
    this.#fetching ??= (async () => {
      // Counted from the attempt, so an auth outage does not turn every unknown kid into a fetch.
      this.#fetchedAt = Date.now();
      try {
        this.#keys = createLocalJWKSet(await this.#opts.fetchJwks());
      } catch (err) {
        throw new AppError('unavailable', 'signing keys are unavailable', { cause: err });
      }
    })().finally(() => {
      this.#fetching = undefined;
    });
    await this.#fetching;
  }

  async #verifySignature(token: string): Promise<AccessClaims> {
    if (!this.#keys) await this.#refresh();
    const verify = () =>
      jwtVerify(token, this.#keys!, {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        algorithms: ['EdDSA'],
        clockTolerance: 5,
      });
    try {
      return (await verify()).payload as unknown as AccessClaims;
    } catch (err) {
      const stale = Date.now() - this.#fetchedAt > (this.#opts.refetchIntervalMs ?? 30_000);
      if (err instanceof joseErrors.JWKSNoMatchingKey && stale) {
        // Perhaps the key was rotated since we fetched the set.
        await this.#refresh();
        try {
          return (await verify()).payload as unknown as AccessClaims;
        } catch (again) {
          throw describe(again);
        }
      }
      throw describe(err);
    }
  }

  /** The claims of a valid, unrevoked access token; AppError('unauthenticated') otherwise. */
  async verify(token: string): Promise<AccessClaims> {
    const claims = await this.#verifySignature(token);
    if (
      !claims.sub ||
      !claims.sid ||
      !claims.jti ||
      typeof claims.exp !== 'number' ||
      (claims.role !== 'user' && claims.role !== 'admin')
    ) {
      throw unauthenticated('token is missing required claims');
    }
    const [byToken, bySession] = await this.#opts.cache.getMany([
      denyKeys.token(claims.jti),
      denyKeys.session(claims.sid),
    ]);
    if (byToken !== null || bySession !== null) throw unauthenticated('token has been revoked');
    return claims;
  }
}

function describe(err: unknown): AppError {
  if (err instanceof joseErrors.JWTExpired) return unauthenticated('token has expired');
  if (err instanceof joseErrors.JWKSNoMatchingKey)
    return unauthenticated('token was signed by an unknown key');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return unauthenticated('token signature is invalid');
  if (err instanceof joseErrors.JWTClaimValidationFailed)
    return unauthenticated(`token ${err.claim} is invalid`);
  if (err instanceof joseErrors.JOSEError) return unauthenticated('token is malformed');
  if (err instanceof AppError) return err;
  return new AppError('unavailable', 'signing keys are unavailable', { cause: err });
}
