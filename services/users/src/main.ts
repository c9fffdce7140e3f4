/** Composition root of the users service run as its own process. */
import { runStandalone } from '@wavecast/kit/standalone';
import { usersConfigSpec } from './config.ts';
import { createUsers, migrateUsers } from './index.ts';

export async function main(): Promise<void> {
  await runStandalone({
    service: 'users',
    rpcPort: 50051,
    opsPort: 9101,
    spec: usersConfigSpec,
    async create({ config, platform, logger }) {
      await migrateUsers(platform.db);
      return createUsers({ db: platform.db, bus: platform.bus, logger, adminUsername: config.adminUsername });
    },
  });
}
