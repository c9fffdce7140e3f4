/**
 * TokenVerifier against keys and tokens made with jose, as the auth service
 * makes them, and a real (in-memory) cache for the deny-list.
 */
import { randomUUID } from 'node:crypto';
import {
  base64url,
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Cache, openCache } from '../src/cache.ts';
import { AppError } from '../src/errors.ts';
import { denyKeys, TOKEN_AUDIENCE, TOKEN_ISSUER, TokenVerifier } from '../src/tokens.ts';
import { eventually } from './support/poll.ts';

interface TestKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function makeKey(kid: string): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' } };
}

interface SignOptions {
  claims?: JWTPayload;
  issuer?: string;
  audience?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  kid?: string;
}

function sign(key: TestKey, opts: SignOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: 'ses_1', role: 'user', name: 'ada', ...opts.claims })
    .setProtectedHeader({ alg: 'EdDSA', kid: opts.kid ?? key.kid, typ: 'JWT' })
    .setSubject('usr_1')
    .setIssuer(opts.issuer ?? TOKEN_ISSUER)
    .setAudience(opts.audience ?? TOKEN_AUDIENCE)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expiresIn ?? 900))
    .sign(key.privateKey);
}

/** A JWKS endpoint whose contents a test changes, counting fetches. */
class JwksSource {
  keys: JWK[] = [];
  fetches = 0;
  failure: Error | undefined;

  readonly fetch = async (): Promise<JSONWebKeySet> => {
    this.fetches++;
    if (this.failure) throw this.failure;
    return { keys: [...this.keys] };
  };
}

const rejection = (promise: Promise<unknown>): Promise<AppError> =>
  promise.then(
    () => {
      throw new Error('expected verification to fail');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(AppError);
      return err as AppError;
    },
  );

describe('TokenVerifier', () => {
  let key: TestKey;
  let other: TestKey;
  let cache: Cache;
  let jwks: JwksSource;
  let verifier: TokenVerifier;

  beforeAll(async () => {
    key = await makeKey('key_1');
    other = await makeKey('key_2');
  });
  beforeEach(async () => {
    cache = await openCache('memory:');
    jwks = new JwksSource();
    jwks.keys = [key.publicJwk];
    verifier = new TokenVerifier({ fetchJwks: jwks.fetch, cache, refetchIntervalMs: 60_000 });
  });
  afterEach(() => cache.close());

  const expectUnauthenticated = async (token: string, message: string) => {
    const err = await rejection(verifier.verify(token));
    expect({ code: err.code, message: err.message }).toEqual({ code: 'unauthenticated', message });
  };

  it('returns the claims of a valid token', async () => {
    const token = await sign(key, { claims: { role: 'admin', sid: 'ses_7', name: 'grace' } });
    const claims = await verifier.verify(token);
    expect(claims).toMatchObject({
      sub: 'usr_1',
      sid: 'ses_7',
      role: 'admin',
      name: 'grace',
      iss: TOKEN_ISSUER,
      aud: TOKEN_AUDIENCE,
    });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.exp - claims.iat).toBe(900);
    // The key set is fetched once and kept.
    await verifier.verify(await sign(key));
    expect(jwks.fetches).toBe(1);
  });

  it('rejects an expired token', async () => {
    await expectUnauthenticated(await sign(key, { expiresIn: -60 }), 'token has expired');
    // Within the clock tolerance (5 s) it still passes.
    await expect(verifier.verify(await sign(key, { expiresIn: -2 }))).resolves.toMatchObject({
      sub: 'usr_1',
    });
  });

  it('rejects a wrong issuer or audience', async () => {
    await expectUnauthenticated(await sign(key, { issuer: 'evil' }), 'token iss is invalid');
    await expectUnauthenticated(await sign(key, { audience: 'another-app' }), 'token aud is invalid');
  });

  it('rejects a token signed by an unknown key', async () => {
    await expectUnauthenticated(await sign(other), 'token was signed by an unknown key');
    // Claiming a known kid does not help: the signature does not match that key.
    await expectUnauthenticated(await sign(other, { kid: key.kid }), 'token signature is invalid');
  });

  it('rejects a tampered token', async () => {
    const [header, , signature] = (await sign(key)).split('.');
    const payload = base64url.encode(
      JSON.stringify({
        sub: 'usr_1',
        sid: 'ses_1',
        jti: randomUUID(),
        role: 'admin',
        name: 'ada',
        iss: TOKEN_ISSUER,
        aud: TOKEN_AUDIENCE,
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 900,
      }),
    );
    await expectUnauthenticated(`${header}.${payload}.${signature}`, 'token signature is invalid');
  });

  it('rejects alg none and other algorithms', async () => {
    const unsecured = new UnsecuredJWT({ sid: 'ses_1', role: 'admin', name: 'ada', jti: randomUUID() })
      .setSubject('usr_1')
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('15m')
      .encode();
    await expectUnauthenticated(unsecured, 'token is malformed');
    // HS256 keyed with the public key: the classic algorithm-confusion attack.
    const hs = await new SignJWT({ sid: 'ses_1', role: 'admin', name: 'ada', jti: randomUUID() })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .setSubject('usr_1')
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setExpirationTime('15m')
      .sign(new TextEncoder().encode(JSON.stringify(key.publicJwk)));
    await expectUnauthenticated(hs, 'token is malformed');
  });

  it('rejects garbage and tokens missing required claims', async () => {
    await expectUnauthenticated('not-a-token', 'token is malformed');
    await expectUnauthenticated('', 'token is malformed');
    await expectUnauthenticated(
      await sign(key, { claims: { sid: undefined } }),
      'token is missing required claims',
    );
    await expectUnauthenticated(
      await sign(key, { claims: { role: 'superuser' } }),
      'token is missing required claims',
    );
  });

  it('rejects a denied token by its jti, and every token of an ended session by its sid', async () => {
    const token = await sign(key, { claims: { sid: 'ses_a' } });
    const sibling = await sign(key, { claims: { sid: 'ses_a' } });
    const elsewhere = await sign(key, { claims: { sid: 'ses_b' } });
    const { jti } = await verifier.verify(token);

    await cache.set(denyKeys.token(jti), '1');
    await expectUnauthenticated(token, 'token has been revoked');
    await expect(verifier.verify(sibling)).resolves.toMatchObject({ sid: 'ses_a' });

    await cache.set(denyKeys.session('ses_a'), 'logout');
    await expectUnauthenticated(sibling, 'token has been revoked');
    await expect(verifier.verify(elsewhere)).resolves.toMatchObject({ sid: 'ses_b' });
  });

  it('refetches the key set for an unknown kid at most once per interval', async () => {
    verifier = new TokenVerifier({ fetchJwks: jwks.fetch, cache, refetchIntervalMs: 300 });
    await verifier.verify(await sign(key));
    expect(jwks.fetches).toBe(1);

    // The key is rotated: the set now holds a key this verifier has not seen.
    jwks.keys = [key.publicJwk, other.publicJwk];
    const rotated = await sign(other);
    // Right after a fetch, an unknown kid does not trigger another one, however many arrive.
    await Promise.all(
      Array.from({ length: 10 }, () =>
        expect(verifier.verify(rotated)).rejects.toThrow('token was signed by an unknown key'),
      ),
    );
    expect(jwks.fetches).toBe(1);

    // Once the interval has passed, the next unknown kid refetches, once, and the token verifies.
    await eventually(async () => {
      await expect(verifier.verify(rotated)).resolves.toMatchObject({ sub: 'usr_1' });
    });
    expect(jwks.fetches).toBe(2);

    // Many tokens with an unknown kid at the same moment, after the interval: still one fetch.
    const stranger = await makeKey('key_3');
    const unknown = await sign(stranger);
    await eventually(async () => {
      const before = jwks.fetches;
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => verifier.verify(unknown)));
      expect(results.every((r) => r.status === 'rejected')).toBe(true);
      expect(jwks.fetches - before).toBe(1);
    });
    expect(jwks.fetches).toBe(3);
    // Known keys keep verifying without fetching.
    await verifier.verify(await sign(key));
    await verifier.verify(rotated);
    expect(jwks.fetches).toBe(3);
  });

  it('concurrent first verifications share one fetch', async () => {
    const tokens = await Promise.all(Array.from({ length: 10 }, () => sign(key)));
    await Promise.all(tokens.map((t) => verifier.verify(t)));
    expect(jwks.fetches).toBe(1);
  });
});
