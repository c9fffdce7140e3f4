/** Composition root of the auth service run as its own process. */
import { runStandalone } from '@wavecast/kit/standalone';
import { authConfigSpec, createAuth, migrateAuth } from './index.ts';

export async function main(): Promise<void> {
  await runStandalone({
    service: 'auth',
    rpcPort: 50052,
    opsPort: 9102,
    spec: authConfigSpec,
    async create({ config, platform, logger, connect }) {
      await migrateAuth(platform.db);
      return createAuth({
        db: platform.db,
        cache: platform.cache,
        bus: platform.bus,
        logger,
        users: connect('users'),
        config,
      });
    },
  });
}
