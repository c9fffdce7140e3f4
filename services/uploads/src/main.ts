/**
 * Composition root of the uploads service run as its own process
 * (`wavecast start uploads`): tus and the direct-upload calls on UPLOADS_HTTP_PORT, and
 * /healthz /readyz /metrics on OPS_PORT.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from '@connectrpc/connect';
import { AuthService } from '@wavecast/contracts/gen/wavecast/auth/v1/auth_pb.js';
import { openBus } from '@wavecast/kit/bus';
import { openCache } from '@wavecast/kit/cache';
import { ConfigError, type ConfigOf, env, loadConfig } from '@wavecast/kit/config';
import { startOpsServer } from '@wavecast/kit/http';
import { createLogger } from '@wavecast/kit/log';
import { createMetrics } from '@wavecast/kit/metrics';
import { networkTransport } from '@wavecast/kit/rpc';
import { shutdownSignal } from '@wavecast/kit/service';
import { defaultRpcPorts, describeStartupError } from '@wavecast/kit/standalone';
import { openStorage } from '@wavecast/kit/storage';
import { TokenVerifier } from '@wavecast/kit/tokens';
import type { JSONWebKeySet } from 'jose';
import { uploadsConfigSpec } from './config.ts';
import { createUploads } from './index.ts';

export const processSpec = {
  host: env.str('HOST', { default: '0.0.0.0' }),
  httpPort: env.int('UPLOADS_HTTP_PORT', { default: 8082, min: 0, max: 65535 }),
  opsPort: env.int('OPS_PORT', { default: 9107, min: 0, max: 65535 }),
  logLevel: env.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
    default: 'info',
  }),
  busUrl: env.str('BUS_URL', { default: 'memory:', secret: true }),
  busPrefix: env.str('BUS_PREFIX', { default: '' }),
  // The token deny-list (logged-out tokens, ended sessions) lives in the cache.
  cacheUrl: env.str('CACHE_URL', { default: 'memory:', secret: true }),
  cachePrefix: env.str('CACHE_PREFIX', { default: 'wavecast:' }),
  storageUrl: env.str('STORAGE_URL', { default: 'file:./data/storage', secret: true }),
  authTarget: env.str('AUTH_RPC_TARGET', { default: `http://127.0.0.1:${defaultRpcPorts.auth}` }),
  catalogTarget: env.str('CATALOG_RPC_TARGET', {
    default: `http://127.0.0.1:${defaultRpcPorts.catalog ?? 50055}`,
  }),
};

export async function main(): Promise<void> {
  const fail = (err: unknown): never => {
    process.stderr.write(`wavecast uploads: cannot start: ${describeStartupError(err)}\n`);
    process.exit(1);
  };
  let config: ConfigOf<typeof uploadsConfigSpec & typeof processSpec>;
  try {
    config = loadConfig({ ...uploadsConfigSpec, ...processSpec });
  } catch (err) {
    return fail(err instanceof ConfigError ? err : new Error(String(err)));
  }
  const logger = createLogger({ service: 'uploads', level: config.logLevel });
  const metrics = createMetrics();
  const bus = await openBus(config.busUrl, { prefix: config.busPrefix, logger }).catch(fail);
  const cache = await openCache(config.cacheUrl, { prefix: config.cachePrefix, logger }).catch(fail);
  const storage = await openStorage(config.storageUrl, { logger }).catch(fail);
  const auth = networkTransport(config.authTarget, { caller: 'uploads', logger, metrics });
  const catalog = networkTransport(config.catalogTarget, { caller: 'uploads', logger, metrics });
  const authClient = createClient(AuthService, auth);
  const verifier = new TokenVerifier({
    fetchJwks: async () => JSON.parse((await authClient.getJwks({})).jwksJson) as JSONWebKeySet,
    cache,
  });
  const uploads = await createUploads({
    config,
    storage,
    storageUrl: config.storageUrl,
    bus,
    catalog,
    verifier,
    logger,
  }).catch(fail);

  const server = http.createServer((req, res) => {
    if (uploads.handle(req, res) || uploads.handleDirect(req, res)) return;
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: {
          code: 'not_found',
          message: 'only /v1/uploads and POST /v1/videos/{id}/upload-url|upload-complete are served here',
        },
      }),
    );
  });
  // One PATCH may carry gigabytes: no deadline on a whole request (Node's default is 5 minutes).
  server.requestTimeout = 0;
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.httpPort, config.host, resolve);
  }).catch(fail);
  const ops = await startOpsServer({
    host: config.host,
    port: config.opsPort,
    metrics,
    checks: { uploads: uploads.ready },
  }).catch(fail);
  logger.info(
    { httpPort: (server.address() as AddressInfo).port, opsPort: ops.port, maxBytes: config.maxBytes },
    'uploads is serving',
  );

  const signal = await shutdownSignal();
  logger.info({ signal }, 'shutting down');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await uploads.stop();
  server.closeAllConnections();
  await closed;
  await ops.close();
  auth.close();
  catalog.close();
  await bus.close();
  await cache.close();
  await storage.close();
  process.exit(0);
}
