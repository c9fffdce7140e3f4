/**
 * Composition root of an encoder worker run as its own process
 * (`wavecast start encoder`): bus and storage by URL, /healthz /readyz
 * /metrics on OPS_PORT, and a clean SIGTERM: running ffmpegs are killed and
 * their jobs go back to the queue for another worker.
 */
import { openBus } from '@wavecast/kit/bus';
import { ConfigError, env, loadConfig } from '@wavecast/kit/config';
import { startOpsServer } from '@wavecast/kit/http';
import { createLogger } from '@wavecast/kit/log';
import { createMetrics } from '@wavecast/kit/metrics';
import { shutdownSignal } from '@wavecast/kit/service';
import { describeStartupError } from '@wavecast/kit/standalone';
import { openStorage } from '@wavecast/kit/storage';
import { encoderConfigSpec } from './config.ts';
import { createEncoder } from './index.ts';

const processSpec = {
  host: env.str('HOST', { default: '0.0.0.0' }),
  opsPort: env.int('OPS_PORT', { default: 9106, min: 0, max: 65535 }),
  logLevel: env.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
    default: 'info',
  }),
  busUrl: env.str('BUS_URL', { default: 'memory:', secret: true }),
  busPrefix: env.str('BUS_PREFIX', { default: '' }),
  storageUrl: env.str('STORAGE_URL', { default: 'file:./data/storage', secret: true }),
};

export async function main(): Promise<void> {
  const fail = (err: unknown): never => {
    process.stderr.write(`wavecast encoder: cannot start: ${describeStartupError(err)}\n`);
    process.exit(1);
  };
  let config: ReturnType<typeof loadConfig<typeof encoderConfigSpec & typeof processSpec>>;
  try {
    config = loadConfig({ ...encoderConfigSpec, ...processSpec });
  } catch (err) {
    return fail(err instanceof ConfigError ? err : new Error(String(err)));
  }
  const logger = createLogger({ service: 'encoder', level: config.logLevel });
  const metrics = createMetrics();
  const bus = await openBus(config.busUrl, { prefix: config.busPrefix, logger }).catch(fail);
  const storage = await openStorage(config.storageUrl, { logger }).catch(fail);
  const encoder = await createEncoder({ bus, storage, logger, metrics, config }).catch(fail);
  const ops = await startOpsServer({
    host: config.host,
    port: config.opsPort,
    metrics,
    checks: { encoder: encoder.ready },
  }).catch(fail);
  logger.info({ opsPort: ops.port }, 'encoder is serving');

  const signal = await shutdownSignal();
  logger.info({ signal }, 'shutting down');
  await encoder.stop();
  await ops.close();
  await bus.close();
  await storage.close();
  process.exit(0);
}
