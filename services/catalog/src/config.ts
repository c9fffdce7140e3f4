import { env, type Field } from '@wavecast/kit/config';

export const PLAYBACK_SECRET_VARIABLE = 'CATALOG_PLAYBACK_SECRET';

/** 32 bytes in base64 (standard or URL alphabet), e.g. `openssl rand -base64 32`. */
export function parsePlaybackSecret(raw: string): Buffer | undefined {
  const text = raw.trim();
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

/**
 * The secret playback URLs are signed with; the gateway verifies them with
 * the same one. Required when `required`, else undefined when unset.
 */
export function playbackSecret<R extends boolean>(
  required: R,
): Field<R extends true ? Buffer : Buffer | undefined> {
  return {
    variable: PLAYBACK_SECRET_VARIABLE,
    secret: true,
    parse(raw) {
      if (raw === undefined || raw.trim() === '') {
        return required
          ? { ok: false, error: 'is required: 32 random bytes in base64 (openssl rand -base64 32)' }
          : { ok: true, value: undefined as never };
      }
      const value = parsePlaybackSecret(raw);
      return value ? { ok: true, value } : { ok: false, error: 'must be 32 bytes in base64' };
    },
  };
}

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
};

/** Run as its own process, the service must be given the secret the gateways share. */
export const standaloneCatalogConfigSpec = {
  ...catalogConfigSpec,
  playbackSecret: playbackSecret(true),
};
