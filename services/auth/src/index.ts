import { fileURLToPath } from 'node:url';
import { createClient, type Transport } from '@connectrpc/connect';
import { UsersService } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import type { Bus, Subscription } from '@wavecast/kit/bus';
import type { Cache } from '@wavecast/kit/cache';
import type { ConfigOf } from '@wavecast/kit/config';
import type { Database } from '@wavecast/kit/db';
import type { Logger } from '@wavecast/kit/log';
import type { ServiceInstance } from '@wavecast/kit/service';
import { TokenVerifier } from '@wavecast/kit/tokens';
import { AUTH_SCHEMA, AuthRepository } from './auth.repository.ts';
import { AuthService } from './auth.service.ts';
import type { authConfigSpec } from './config.ts';
import { subscribeAuthEvents } from './jobs.ts';
import { SigningKeys } from './keys.ts';
import { LoginThrottle } from './login-throttle.ts';
import { PasswordHasher } from './password.ts';
import { authRoutes } from './rpc/routes.ts';

export { authConfigSpec } from './config.ts';

const migrations = fileURLToPath(new URL('./migrations/', import.meta.url));

export async function migrateAuth(db: Database): Promise<string[]> {
  return db.migrate(AUTH_SCHEMA, migrations);
}

export interface AuthDeps {
  db: Database;
  cache: Cache;
  bus: Bus;
  logger: Logger;
  /** Transport to the users service. */
  users: Transport;
  config: ConfigOf<typeof authConfigSpec>;
}

/** Wires the auth service; loads (or creates) the signing keys before it serves. */
export async function createAuth(deps: AuthDeps): Promise<ServiceInstance & { service: AuthService }> {
  const { config } = deps;
  const repo = new AuthRepository(deps.db);
  const keys = new SigningKeys(repo);
  await keys.load();
  const service = new AuthService({
    repo,
    keys,
    users: createClient(UsersService, deps.users),
    hasher: new PasswordHasher({
      memoryCost: config.argon2MemoryKib,
      timeCost: config.argon2Iterations,
      parallelism: 1,
    }),
    throttle: new LoginThrottle(deps.cache, {
      perAccount: config.loginMaxFailures,
      perAddress: config.loginMaxFailuresPerAddress,
      windowMs: config.loginLockSeconds * 1000,
    }),
    verifier: new TokenVerifier({ fetchJwks: async () => keys.jwks(), cache: deps.cache }),
    cache: deps.cache,
    logger: deps.logger,
    accessTtlSeconds: config.accessTtlSeconds,
    refreshTtlSeconds: config.refreshTtlSeconds,
  });
  const subscription: Subscription = await subscribeAuthEvents(deps.bus, service);
  // Pick up keys created or rotated by other instances.
  const reload = setInterval(() => {
    keys.load().catch((err) => deps.logger.warn({ err }, 'could not reload signing keys'));
  }, 60_000);
  reload.unref();
  // Expired refresh tokens are useless; keep the table small.
  const purge = setInterval(() => {
    repo
      .deleteExpiredRefreshTokens(new Date())
      .catch((err) => deps.logger.warn({ err }, 'refresh token purge failed'));
  }, 3_600_000);
  purge.unref();
  return {
    name: 'auth',
    service,
    routes: authRoutes(service),
    ready: async () => {
      await Promise.all([deps.db.ping(), deps.cache.ping(), deps.bus.ping()]);
    },
    async stop() {
      clearInterval(reload);
      clearInterval(purge);
      await subscription.close();
    },
  };
}
