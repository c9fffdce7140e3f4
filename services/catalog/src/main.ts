/** Composition root of the catalog service run as its own process. */
import { runStandalone } from '@wavecast/kit/standalone';
import { standaloneCatalogConfigSpec } from './config.ts';
import { createCatalog, migrateCatalog } from './index.ts';

export async function main(): Promise<void> {
  await runStandalone({
    service: 'catalog',
    rpcPort: 50055,
    opsPort: 9105,
    spec: standaloneCatalogConfigSpec,
    async create({ config, platform, logger }) {
      await migrateCatalog(platform.db);
      return createCatalog({
        db: platform.db,
        cache: platform.cache,
        bus: platform.bus,
        logger,
        config,
        playbackSecret: config.playbackSecret,
      });
    },
  });
}
