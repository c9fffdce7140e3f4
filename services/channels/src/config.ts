import { env, type Field } from '@wavecast/kit/config';

export const STREAM_KEY_SECRET_VARIABLE = 'CHANNELS_STREAM_KEY_SECRET';

/** 32 bytes in base64 (standard or URL alphabet), e.g. `openssl rand -base64 32`. */
export function parseSecret(raw: string): Buffer | undefined {
  const text = raw.trim();
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

function streamKeySecret<R extends boolean>(
  required: R,
): Field<R extends true ? Buffer : Buffer | undefined> {
  return {
    variable: STREAM_KEY_SECRET_VARIABLE,
    secret: true,
    parse(raw) {
      if (raw === undefined || raw.trim() === '') {
        return required
          ? { ok: false, error: 'is required: 32 random bytes in base64 (openssl rand -base64 32)' }
          : { ok: true, value: undefined as never };
      }
      const value = parseSecret(raw);
      return value ? { ok: true, value } : { ok: false, error: 'must be 32 bytes in base64' };
    },
  };
}

/**
 * The channels service's settings. The all-in-one process may leave the
 * stream key secret unset: it keeps a generated one in its data directory.
 */
export const channelsConfigSpec = {
  streamKeySecret: streamKeySecret(false),
  reconnectGraceSeconds: env.int('CHANNELS_RECONNECT_GRACE_SECONDS', { default: 10, min: 0, max: 3_600 }),
  liveEntryTtlSeconds: env.int('CHANNELS_LIVE_ENTRY_TTL_SECONDS', { default: 30, min: 5, max: 3_600 }),
};

/** Run as its own process, the service must be given the secret every instance shares. */
export const standaloneChannelsConfigSpec = {
  ...channelsConfigSpec,
  streamKeySecret: streamKeySecret(true),
};
