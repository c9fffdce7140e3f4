import { randomUUID } from 'node:crypto';
import { newId } from '@wavecast/kit/ids';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@wavecast/kit/tokens';
import { exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK, SignJWT } from 'jose';
import type { AuthRepository, StoredKey } from './auth.repository.ts';

/** Retired keys stay in the JWKS this long, so tokens they signed still verify. */
const RETIRED_GRACE_MS = 24 * 3_600_000;

/**
 * The EdDSA (Ed25519) signing keys. The newest unretired key signs; every
 * key that may still have live tokens is in the published JWKS. Keys live in
 * the auth schema, so all auth instances sign with the same key.
 */
export class SigningKeys {
  readonly #repo: AuthRepository;
  #keys: StoredKey[] = [];
  #signer: { kid: string; key: Parameters<SignJWT['sign']>[0] } | undefined;

  constructor(repo: AuthRepository) {
    this.#repo = repo;
  }

  /** Loads the keys, creating the first one if there is none. */
  async load(): Promise<void> {
    let keys = await this.#repo.listKeys();
    if (!keys.some((k) => k.retiredAt === null)) {
      keys = await this.#repo.transaction(async (trx) => {
        await this.#repo.lockKeys(trx);
        const existing = await this.#repo.listKeys(trx);
        if (existing.some((k) => k.retiredAt === null)) return existing;
        const { publicKey, privateKey } = await generateKeyPair('EdDSA', {
          crv: 'Ed25519',
          extractable: true,
        });
        const kid = newId('key');
        const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
        const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' };
        await this.#repo.insertKey(trx, { kid, publicJwk, privateJwk });
        return this.#repo.listKeys(trx);
      });
    }
    this.#keys = keys;
    const active = keys.find((k) => k.retiredAt === null)!;
    this.#signer = { kid: active.kid, key: await importJWK(active.privateJwk as JWK, 'EdDSA') };
  }

  jwks(): JSONWebKeySet {
    const now = Date.now();
    return {
      keys: this.#keys
        .filter((k) => k.retiredAt === null || now - k.retiredAt.getTime() < RETIRED_GRACE_MS)
        .map((k) => k.publicJwk as JWK),
    };
  }

  async sign(claims: { sub: string; sid: string; role: string; name: string }, ttlSeconds: number) {
    if (!this.#signer) throw new Error('signing keys are not loaded');
    const jti = randomUUID();
    const token = await new SignJWT({ sid: claims.sid, role: claims.role, name: claims.name })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.#signer.kid, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setJti(jti)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.#signer.key);
    return { token, jti };
  }
}
