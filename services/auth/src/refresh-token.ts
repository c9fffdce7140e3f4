import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isId, newId } from '@wavecast/kit/ids';

/**
 * Refresh tokens are `<id>.<secret>`: the id finds the row, the secret proves
 * possession. Only SHA-256 of the secret is stored, so a database dump holds
 * no usable token.
 */
export function newRefreshToken(): { id: string; token: string; secretHash: Buffer } {
  const id = newId('rtk');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `${id}.${secret}`, secretHash: hashSecret(secret) };
}

export function parseRefreshToken(token: string): { id: string; secret: string } | undefined {
  const dot = token.indexOf('.');
  if (dot < 0) return undefined;
  const id = token.slice(0, dot);
  const secret = token.slice(dot + 1);
  if (!isId(id, 'rtk') || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return undefined;
  return { id, secret };
}

export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const actual = hashSecret(secret);
  return actual.length === storedHash.length && timingSafeEqual(actual, storedHash);
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
