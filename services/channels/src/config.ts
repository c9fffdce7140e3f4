import { env } from '@wavecast/kit/config';

export const STREAM_KEY_SECRET_VARIABLE = 'CHANNELS_STREAM_KEY_SECRET';

function streamKeySecret<R extends boolean>(required: R) {
  return env.key32(STREAM_KEY_SECRET_VARIABLE, { required });
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
