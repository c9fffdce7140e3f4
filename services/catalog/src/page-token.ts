/**
 * Opaque page tokens for keyset pagination: the listing they belong to, and
 * the sort key and id of the last item served. A page starts strictly after
 * them, so inserts and deletes elsewhere never shift it.
 */
import { AppError } from '@wavecast/kit/errors';
import type { After } from './video.repository.ts';

const ID = /^vid_[0-9A-HJKMNP-TV-Z]{26}$/;

function invalid(): AppError {
  return new AppError('invalid_argument', 'page_token is not a token of this listing', {
    fields: [{ field: 'page_token', message: 'is not a token of this listing' }],
  });
}

export function encodePageToken(listing: string, after: After): string {
  return Buffer.from(JSON.stringify([listing, after.key, after.id])).toString('base64url');
}

/** The position a token names; invalid_argument when it is malformed or from another listing. */
export function decodePageToken(token: string, listing: string): After {
  if (token.length > 200) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw invalid();
  const [kind, key, id] = parsed as unknown[];
  if (kind !== listing || typeof id !== 'string' || !ID.test(id)) throw invalid();
  if (typeof key === 'number' && Number.isFinite(key)) return { key, id };
  if (typeof key === 'string' && key.length <= 40) {
    // A timestamp or an integer count, as the listing produced it.
    if (/^\d{1,19}$/.test(key) || !Number.isNaN(Date.parse(key))) return { key, id };
  }
  throw invalid();
}
