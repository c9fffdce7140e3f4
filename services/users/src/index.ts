import { fileURLToPath } from 'node:url';
import type { Bus } from '@wavecast/kit/bus';
import type { Database } from '@wavecast/kit/db';
import type { Logger } from '@wavecast/kit/log';
import { migrateOutbox, startOutboxRelay } from '@wavecast/kit/outbox';
import type { ServiceInstance } from '@wavecast/kit/service';
import { usersRoutes } from './rpc/routes.ts';
import { USERS_SCHEMA, UserRepository } from './user.repository.ts';
import { UserService } from './user.service.ts';

export { UserService } from './user.service.ts';

const migrations = fileURLToPath(new URL('./migrations/', import.meta.url));

export async function migrateUsers(db: Database): Promise<string[]> {
  const applied = await db.migrate(USERS_SCHEMA, migrations);
  await migrateOutbox(db, USERS_SCHEMA);
  return applied;
}

export interface UsersDeps {
  db: Database;
  bus: Bus;
  logger: Logger;
  adminUsername?: string | undefined;
}

/** Wires the users service: repository -> service -> RPC routes, plus its outbox relay. */
export function createUsers(deps: UsersDeps): ServiceInstance & { service: UserService } {
  const repo = new UserRepository(deps.db);
  const relay = startOutboxRelay({ db: repo.db, bus: deps.bus, logger: deps.logger });
  const service = new UserService(repo, { adminUsername: deps.adminUsername, onEvents: relay.kick });
  return {
    name: 'users',
    service,
    routes: usersRoutes(service),
    ready: () => deps.db.ping(),
    stop: () => relay.stop(),
  };
}
