import path from 'node:path';
import { migrateAuth } from '@wavecast/auth';
import { migrateCatalog } from '@wavecast/catalog';
import { migrateChannels } from '@wavecast/channels';
import { env, loadConfig } from '@wavecast/kit/config';
import { openDatabase } from '@wavecast/kit/db';
import { createLogger } from '@wavecast/kit/log';
import { migrateUsers } from '@wavecast/users';

/** Applies every service's migrations to DATABASE_URL (default: the embedded database). */
export async function migrateAll(source: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const dataDir = path.resolve(source.WAVECAST_DATA_DIR ?? './data');
  const config = loadConfig(
    {
      databaseUrl: env.str('DATABASE_URL', {
        default: `pglite:${path.join(dataDir, 'pglite')}`,
        secret: true,
      }),
    },
    source,
  );
  const logger = createLogger({ service: 'migrate', level: 'warn' });
  const db = await openDatabase(config.databaseUrl, { logger });
  try {
    const users = await migrateUsers(db);
    const auth = await migrateAuth(db);
    const channels = await migrateChannels(db);
    const catalog = await migrateCatalog(db);
    return [
      ...users.map((m) => `users/${m}`),
      ...auth.map((m) => `auth/${m}`),
      ...channels.map((m) => `channels/${m}`),
      ...catalog.map((m) => `catalog/${m}`),
    ];
  } finally {
    await db.close();
  }
}
