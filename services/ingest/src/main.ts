/** Composition root of an ingest node run as its own process: RTMP in, HLS origin out. */
import http from 'node:http';
import { openBus } from '@wavecast/kit/bus';
import { ConfigError, env, loadConfig } from '@wavecast/kit/config';
import { startOpsServer } from '@wavecast/kit/http';
import { createLogger } from '@wavecast/kit/log';
import { createMetrics } from '@wavecast/kit/metrics';
import { networkTransport } from '@wavecast/kit/rpc';
import { shutdownSignal } from '@wavecast/kit/service';
import { defaultRpcPorts, describeStartupError } from '@wavecast/kit/standalone';
import { openStorage } from '@wavecast/kit/storage';
import { ingestConfigSpec } from './config.ts';
import { createIngest } from './index.ts';

const processSpec = {
  host: env.str('HOST', { default: '0.0.0.0' }),
  opsPort: env.int('OPS_PORT', { default: 9104, min: 0, max: 65535 }),
  logLevel: env.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
    default: 'info',
  }),
  busUrl: env.str('BUS_URL', { default: 'memory:', secret: true }),
  busPrefix: env.str('BUS_PREFIX', { default: '' }),
  storageUrl: env.str('STORAGE_URL', { default: 'file:./data/storage', secret: true }),
  channelsTarget: env.str('CHANNELS_RPC_TARGET', { default: `http://127.0.0.1:${defaultRpcPorts.channels}` }),
  trustProxy: env.bool('HTTP_TRUST_PROXY', { default: true }),
};

export async function main(): Promise<void> {
  const fail = (err: unknown): never => {
    process.stderr.write(`wavecast ingest: cannot start: ${describeStartupError(err)}\n`);
    process.exit(1);
  };
  let config: ReturnType<typeof loadConfig<typeof ingestConfigSpec & typeof processSpec>>;
  try {
    config = loadConfig({ ...ingestConfigSpec, ...processSpec });
  } catch (err) {
    return fail(err instanceof ConfigError ? err : new Error(String(err)));
  }
  const logger = createLogger({ service: 'ingest', level: config.logLevel });
  const metrics = createMetrics();
  const bus = await openBus(config.busUrl, { prefix: config.busPrefix, logger }).catch(fail);
  const storage = await openStorage(config.storageUrl, { logger }).catch(fail);
  const channels = networkTransport(config.channelsTarget, { caller: 'ingest', logger, metrics });
  const ingest = await createIngest({ config, channels, storage, bus, logger }).catch(fail);

  // The origin: gateways proxy /live/<channel>/… here (they pass the viewer in X-Forwarded-For).
  const origin = http.createServer(ingest.http.listener(config.trustProxy));
  origin.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    origin.once('error', reject);
    origin.listen(config.originPort, config.host, resolve);
  }).catch(fail);
  const ops = await startOpsServer({
    host: config.host,
    port: config.opsPort,
    metrics,
    checks: { ingest: ingest.ready },
  }).catch(fail);
  logger.info(
    { rtmpPort: ingest.rtmpPort, originPort: config.originPort, opsPort: ops.port },
    'ingest is serving',
  );

  const signal = await shutdownSignal();
  logger.info({ signal }, 'shutting down');
  await ingest.stop();
  await new Promise<void>((resolve) => {
    origin.close(() => resolve());
    origin.closeAllConnections();
  });
  await ops.close();
  channels.close();
  await bus.close();
  await storage.close();
  process.exit(0);
}
