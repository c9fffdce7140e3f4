/** Composition root of the channels service run as its own process. */
import { runStandalone } from '@wavecast/kit/standalone';
import { standaloneChannelsConfigSpec } from './config.ts';
import { createChannels, migrateChannels } from './index.ts';

export async function main(): Promise<void> {
  await runStandalone({
    service: 'channels',
    rpcPort: 50053,
    opsPort: 9103,
    spec: standaloneChannelsConfigSpec,
    async create({ config, platform, logger }) {
      await migrateChannels(platform.db);
      return createChannels({
        db: platform.db,
        cache: platform.cache,
        bus: platform.bus,
        logger,
        config,
        streamKeySecret: config.streamKeySecret,
      });
    },
  });
}
