/** Composition root of the gateway run as its own process: the public HTTP edge. */
import path from 'node:path';
import { createClient } from '@connectrpc/connect';
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from '@wavecast/contracts/gen/grpc/health/v1/health_pb.js';
import { openBus } from '@wavecast/kit/bus';
import { openCache } from '@wavecast/kit/cache';
import { ConfigError, env, loadConfig } from '@wavecast/kit/config';
import { AppError } from '@wavecast/kit/errors';
import { createLogger } from '@wavecast/kit/log';
import { createMetrics } from '@wavecast/kit/metrics';
import { networkTransport } from '@wavecast/kit/rpc';
import { shutdownSignal } from '@wavecast/kit/service';
import { defaultRpcPorts, describeStartupError } from '@wavecast/kit/standalone';
import { openStorage } from '@wavecast/kit/storage';
import { gatewayConfigSpec } from './config.ts';
import { createGateway, httpUploadsBackend, rawProxy } from './index.ts';

const platformSpec = {
  logLevel: env.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
    default: 'info',
  }),
  cacheUrl: env.str('CACHE_URL', { default: 'memory:', secret: true }),
  cachePrefix: env.str('CACHE_PREFIX', { default: 'wavecast:' }),
  busUrl: env.str('BUS_URL', { default: 'memory:', secret: true }),
  busPrefix: env.str('BUS_PREFIX', { default: '' }),
  usersTarget: env.str('USERS_RPC_TARGET', { default: `http://127.0.0.1:${defaultRpcPorts.users}` }),
  authTarget: env.str('AUTH_RPC_TARGET', { default: `http://127.0.0.1:${defaultRpcPorts.auth}` }),
  channelsTarget: env.str('CHANNELS_RPC_TARGET', {
    default: `http://127.0.0.1:${defaultRpcPorts.channels}`,
  }),
  catalogTarget: env.str('CATALOG_RPC_TARGET', { default: `http://127.0.0.1:${defaultRpcPorts.catalog}` }),
  /**
   * Where tus uploads and the direct-upload calls go: an uploads instance's HTTP port (requests of
   * one tus upload must reach one instance).
   */
  uploadsTarget: env.url('UPLOADS_TARGET', {
    default: 'http://127.0.0.1:8082',
    protocols: ['http', 'https'],
  }),
  // Where the encoder writes VOD outputs; the gateway serves them under /media/.
  storageUrl: env.str('STORAGE_URL', {
    default: `file:${path.join(process.env.WAVECAST_DATA_DIR ?? './data', 'storage')}`,
    secret: true,
  }),
};

export async function main(): Promise<void> {
  const fail = (err: unknown): never => {
    process.stderr.write(`wavecast gateway: cannot start: ${describeStartupError(err)}\n`);
    process.exit(1);
  };
  let config: ReturnType<typeof loadConfig<typeof gatewayConfigSpec & typeof platformSpec>>;
  try {
    config = loadConfig({ ...gatewayConfigSpec, ...platformSpec });
  } catch (err) {
    return fail(err instanceof ConfigError ? err : new AppError('internal', String(err)));
  }
  const logger = createLogger({ service: 'gateway', level: config.logLevel });
  const metrics = createMetrics();
  const cache = await openCache(config.cacheUrl, { prefix: config.cachePrefix, logger }).catch(fail);
  const bus = await openBus(config.busUrl, { prefix: config.busPrefix, logger }).catch(fail);
  const storage = await openStorage(config.storageUrl, { logger }).catch(fail);
  const clientOpts = { caller: 'gateway', logger, metrics };
  const users = networkTransport(config.usersTarget, clientOpts);
  const auth = networkTransport(config.authTarget, clientOpts);
  const channels = networkTransport(config.channelsTarget, clientOpts);
  const catalog = networkTransport(config.catalogTarget, clientOpts);
  const healthOf = (transport: typeof users, service: string) => async () => {
    const res = await createClient(Health, transport).check({ service }, { timeoutMs: 2_000 });
    if (res.status !== HealthCheckResponse_ServingStatus.SERVING)
      throw new Error(`${service} is not serving`);
  };
  const gateway = await createGateway({
    raw: [rawProxy('/v1/uploads', config.uploadsTarget)],
    uploads: httpUploadsBackend(config.uploadsTarget),
    config,
    logger,
    metrics,
    cache,
    bus,
    users,
    auth,
    channels,
    catalog,
    storage,
    // Not channels nor catalog: without one only its routes fail (503); accounts keep working.
    readiness: { users: healthOf(users, 'users'), auth: healthOf(auth, 'auth') },
  }).catch(fail);
  await gateway.app.listen({ host: config.httpHost, port: config.httpPort }).catch(fail);
  logger.info({ port: config.httpPort }, 'gateway is serving');

  const signal = await shutdownSignal();
  logger.info({ signal }, 'shutting down');
  await gateway.close();
  users.close();
  auth.close();
  channels.close();
  catalog.close();
  await bus.close();
  await storage.close();
  await cache.close();
  process.exit(0);
}
