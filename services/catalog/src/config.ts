import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, env, type Field } from '@wavecast/kit/config';
import type { CloudFrontSigning } from './cloudfront.ts';

export const PLAYBACK_SECRET_VARIABLE = 'CATALOG_PLAYBACK_SECRET';

/**
 * The secret playback URLs are signed with; the gateway verifies them with
 * the same one. Required when `required`, else undefined when unset.
 */
export function playbackSecret<R extends boolean>(required: R) {
  return env.key32(PLAYBACK_SECRET_VARIABLE, { required });
}

/** An RSA private key in PEM (`\n` escapes allowed, for one-line variables); the text is never kept. */
function parseRsaKey(pem: string): { ok: true; value: KeyObject } | { ok: false; error: string } {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem.includes('\\n') ? pem.replaceAll('\\n', '\n') : pem);
  } catch {
    return { ok: false, error: 'must be a PEM private key' };
  }
  return key.asymmetricKeyType === 'rsa'
    ? { ok: true, value: key }
    : {
        ok: false,
        error: `must be an RSA key (CloudFront signs with RSA-SHA1), got ${key.asymmetricKeyType}`,
      };
}

const cloudFrontPrivateKey: Field<KeyObject | undefined> = {
  variable: 'CLOUDFRONT_PRIVATE_KEY',
  secret: true,
  parse: (raw) =>
    raw === undefined || raw.trim() === '' ? { ok: true, value: undefined } : parseRsaKey(raw),
};

const cloudFrontPrivateKeyFile: Field<KeyObject | undefined> = {
  variable: 'CLOUDFRONT_PRIVATE_KEY_FILE',
  secret: true,
  parse(raw) {
    if (raw === undefined || raw.trim() === '') return { ok: true, value: undefined };
    let pem: string;
    try {
      pem = readFileSync(raw.trim(), 'utf8');
    } catch (err) {
      return { ok: false, error: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
    }
    return parseRsaKey(pem);
  },
};

/** A public key id of the distribution's trusted key group (K…), or a legacy key pair id (APKA…). */
const cloudFrontKeyPairId: Field<string | undefined> = {
  variable: 'CLOUDFRONT_KEY_PAIR_ID',
  secret: false,
  parse(raw) {
    const text = raw?.trim() ?? '';
    if (text === '') return { ok: true, value: undefined };
    return /^[A-Z0-9]{1,128}$/.test(text)
      ? { ok: true, value: text }
      : { ok: false, error: 'must be a CloudFront key id (capital letters and digits)' };
  },
};

const cdnBaseUrl: Field<string | undefined> = {
  variable: 'CDN_BASE_URL',
  secret: false,
  parse(raw) {
    if (raw === undefined || raw.trim() === '') return { ok: true, value: undefined };
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      return { ok: false, error: 'must be a URL' };
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, error: 'must be http(s)' };
    if (url.search || url.hash) return { ok: false, error: 'must have no query or fragment' };
    return { ok: true, value: url.href.replace(/\/+$/, '') };
  },
};

/**
 * The catalog service's settings. The all-in-one process may leave the
 * playback secret unset: it keeps a generated one in its data directory.
 */
export const catalogConfigSpec = {
  playbackSecret: playbackSecret(false),
  playbackTtlSeconds: env.int('CATALOG_PLAYBACK_TTL_SECONDS', { default: 21_600, min: 10, max: 7 * 86_400 }),
  viewWindowSeconds: env.int('CATALOG_VIEW_WINDOW_SECONDS', { default: 21_600, min: 1, max: 30 * 86_400 }),
  reconcileIntervalSeconds: env.int('CATALOG_RECONCILE_INTERVAL_SECONDS', {
    default: 60,
    min: 0,
    max: 86_400,
  }),
  stuckAfterSeconds: env.int('CATALOG_STUCK_AFTER_SECONDS', { default: 600, min: 10, max: 7 * 86_400 }),
  /** With the CloudFront key, playback URLs are CloudFront-signed URLs under this base (the bucket's distribution). */
  cdnBaseUrl,
  cloudFrontKeyPairId,
  cloudFrontPrivateKey,
  cloudFrontPrivateKeyFile,
};

/** The CDN settings as parsed; all optional, so callers without a CDN leave them out. */
export interface CdnSettings {
  cdnBaseUrl?: string | undefined;
  cloudFrontKeyPairId?: string | undefined;
  cloudFrontPrivateKey?: KeyObject | undefined;
  cloudFrontPrivateKeyFile?: KeyObject | undefined;
}

/**
 * CloudFront signing when CDN_BASE_URL, CLOUDFRONT_KEY_PAIR_ID and one of
 * CLOUDFRONT_PRIVATE_KEY / CLOUDFRONT_PRIVATE_KEY_FILE are set; undefined
 * when none is. Anything in between is refused, every problem listed.
 */
export function cloudFrontSigningFrom(config: CdnSettings): CloudFrontSigning | undefined {
  const key = config.cloudFrontPrivateKey ?? config.cloudFrontPrivateKeyFile;
  const given = [config.cdnBaseUrl, config.cloudFrontKeyPairId, key].filter((v) => v !== undefined);
  const problems: string[] = [];
  if (config.cloudFrontPrivateKey && config.cloudFrontPrivateKeyFile) {
    problems.push('CLOUDFRONT_PRIVATE_KEY and CLOUDFRONT_PRIVATE_KEY_FILE are both set: keep one');
  }
  if (given.length > 0 && given.length < 3) {
    const missing = [
      config.cdnBaseUrl === undefined && 'CDN_BASE_URL',
      config.cloudFrontKeyPairId === undefined && 'CLOUDFRONT_KEY_PAIR_ID',
      key === undefined && 'CLOUDFRONT_PRIVATE_KEY (or CLOUDFRONT_PRIVATE_KEY_FILE)',
    ].filter(Boolean);
    problems.push(`CloudFront-signed playback needs ${missing.join(', ')} as well`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (!config.cdnBaseUrl || !config.cloudFrontKeyPairId || !key) return undefined;
  return { baseUrl: config.cdnBaseUrl, keyPairId: config.cloudFrontKeyPairId, privateKey: key };
}

/** Run as its own process, the service must be given the secret the gateways share. */
export const standaloneCatalogConfigSpec = {
  ...catalogConfigSpec,
  playbackSecret: playbackSecret(true),
};
