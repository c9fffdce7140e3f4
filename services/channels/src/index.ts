import { fileURLToPath } from 'node:url';
import type { Bus, Subscription } from '@wavecast/kit/bus';
import type { Cache } from '@wavecast/kit/cache';
import type { ConfigOf } from '@wavecast/kit/config';
import type { Database } from '@wavecast/kit/db';
import type { Logger } from '@wavecast/kit/log';
import { migrateOutbox, startOutboxRelay } from '@wavecast/kit/outbox';
import type { ServiceInstance } from '@wavecast/kit/service';
import { ChannelRepository } from './channel.repository.ts';
import { ChannelService } from './channel.service.ts';
import type { channelsConfigSpec } from './config.ts';
import { subscribeChannelsEvents } from './jobs.ts';
import { LiveDirectory } from './live-directory.ts';
import { channelsRoutes } from './rpc/routes.ts';
import { SessionRepository } from './session.repository.ts';
import { SessionService } from './session.service.ts';
import { StreamKeyVault } from './stream-key.ts';
import { CHANNELS_SCHEMA } from './tables.ts';

export { ChannelService } from './channel.service.ts';
export { channelsConfigSpec, standaloneChannelsConfigSpec } from './config.ts';
export { loadOrCreateSecretFile, streamKeySecretPath } from './secret-file.ts';
export { SessionService } from './session.service.ts';

const migrations = fileURLToPath(new URL('./migrations/', import.meta.url));
const SWEEP_EVERY_MS = 15_000;

export async function migrateChannels(db: Database): Promise<string[]> {
  const applied = await db.migrate(CHANNELS_SCHEMA, migrations);
  await migrateOutbox(db, CHANNELS_SCHEMA);
  return applied;
}

export interface ChannelsDeps {
  db: Database;
  cache: Cache;
  bus: Bus;
  logger: Logger;
  config: Omit<ConfigOf<typeof channelsConfigSpec>, 'streamKeySecret'>;
  /** 32 bytes; every instance must share it. */
  streamKeySecret: Buffer;
  /** The clock (tests move it). */
  now?: () => Date;
  /** How often to end sessions whose ingest is gone (default 15 s; 0: never, tests call sweep()). */
  sweepEveryMs?: number;
}

export type ChannelsInstance = ServiceInstance & { channels: ChannelService; sessions: SessionService };

/** Wires the channels service: repositories -> services -> RPC routes, its outbox relay, events and sweeper. */
export async function createChannels(deps: ChannelsDeps): Promise<ChannelsInstance> {
  const channelRepo = new ChannelRepository(deps.db);
  const sessionRepo = new SessionRepository();
  const relay = startOutboxRelay({ db: channelRepo.db, bus: deps.bus, logger: deps.logger });
  const directory = new LiveDirectory(deps.cache, deps.config.liveEntryTtlSeconds * 1000);
  const vault = new StreamKeyVault(deps.streamKeySecret);
  const shared = {
    channels: channelRepo,
    sessions: sessionRepo,
    directory,
    vault,
    logger: deps.logger,
    onEvents: relay.kick,
  };
  const channels = new ChannelService(shared);
  const sessions = new SessionService({
    ...shared,
    reconnectGraceMs: deps.config.reconnectGraceSeconds * 1000,
    ...(deps.now && { now: deps.now }),
  });
  let subscription: Subscription;
  try {
    subscription = await subscribeChannelsEvents(deps.bus, channels);
  } catch (err) {
    await relay.stop();
    throw err;
  }
  const sweepEveryMs = deps.sweepEveryMs ?? SWEEP_EVERY_MS;
  const sweeper =
    sweepEveryMs > 0
      ? setInterval(() => {
          sessions.sweep().catch((err) => deps.logger.warn({ err }, 'live session sweep failed'));
        }, sweepEveryMs)
      : undefined;
  sweeper?.unref();
  return {
    name: 'channels',
    channels,
    sessions,
    routes: channelsRoutes(channels, sessions),
    ready: async () => {
      await Promise.all([deps.db.ping(), deps.cache.ping(), deps.bus.ping()]);
    },
    async stop() {
      clearInterval(sweeper);
      await subscription.close();
      await relay.stop();
    },
  };
}
