/**
 * Runs one service as its own process (the production shape): configuration
 * from the environment, adapters by URL, gRPC + ops servers, and a clean
 * shutdown on SIGTERM. A start-up failure prints one readable line and exits 1.
 */
import type { Transport } from '@connectrpc/connect';
import { ConfigError, type ConfigOf, env, loadConfig, type Spec } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { closePlatform, openPlatform, type Platform, platformSpec } from './platform.ts';
import { networkTransport } from './rpc/transport.ts';
import { runService, type ServiceInstance, shutdownSignal } from './service.ts';

export interface StandaloneContext<S extends Spec> {
  /** The service's own configuration, parsed together with the common one. */
  config: ConfigOf<S>;
  platform: Platform;
  logger: Logger;
  metrics: Metrics;
  /** A gRPC transport to another service, from `<NAME>_RPC_TARGET`. */
  connect(service: string): Transport;
}

/** Default gRPC ports, so `<NAME>_RPC_TARGET` can be omitted on one machine. */
export const defaultRpcPorts: Record<string, number> = {
  users: 50051,
  auth: 50052,
  channels: 50053,
  catalog: 50055,
};

/** One line a person can act on, for any start-up failure. */
export function describeStartupError(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  // Adapters word their errors for people already; causes may hold secrets, so they stay out.
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  return String(err);
}

export async function runStandalone<S extends Spec>(opts: {
  service: string;
  rpcPort: number;
  opsPort: number;
  spec: S;
  create(ctx: StandaloneContext<S>): Promise<ServiceInstance>;
}): Promise<void> {
  const fail = (err: unknown): never => {
    process.stderr.write(`wavecast ${opts.service}: cannot start: ${describeStartupError(err)}\n`);
    process.exit(1);
  };
  const common = {
    host: env.str('HOST', { default: '0.0.0.0' }),
    rpcPort: env.int('RPC_PORT', { default: opts.rpcPort, min: 0, max: 65535 }),
    opsPort: env.int('OPS_PORT', { default: opts.opsPort, min: 0, max: 65535 }),
    logLevel: env.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
      default: 'info',
    }),
    ...platformSpec(process.env.WAVECAST_DATA_DIR ?? './data'),
  };
  // Both halves are parsed before failing, so every bad variable is reported at once.
  const problems: string[] = [];
  const parse = <T extends Spec>(spec: T): ConfigOf<T> | undefined => {
    try {
      return loadConfig(spec);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const config = parse(common);
  const own = parse(opts.spec);
  if (!config || !own) return fail(new ConfigError(problems));
  const logger = createLogger({ service: opts.service, level: config.logLevel });
  const metrics = createMetrics();
  const transports: { close(): void }[] = [];
  const connect = (service: string): Transport => {
    const variable = `${service.toUpperCase()}_RPC_TARGET`;
    const target = process.env[variable] ?? `http://127.0.0.1:${defaultRpcPorts[service] ?? 50051}`;
    const transport = networkTransport(target, { caller: opts.service, logger, metrics });
    transports.push(transport);
    return transport;
  };

  let platform: Platform;
  let instance: ServiceInstance;
  try {
    platform = await openPlatform(config, logger);
  } catch (err) {
    return fail(err);
  }
  try {
    instance = await opts.create({ config: own, platform, logger, metrics, connect });
  } catch (err) {
    await closePlatform(platform).catch(() => undefined);
    return fail(err);
  }
  const running = await runService({
    instance,
    host: config.host,
    rpcPort: config.rpcPort,
    opsPort: config.opsPort,
    logger,
    metrics,
  }).catch(fail);
  logger.info({ rpcPort: running.rpcPort, opsPort: running.opsPort }, `${opts.service} is serving`);

  const signal = await shutdownSignal();
  logger.info({ signal }, 'shutting down');
  await running.close();
  await instance.stop();
  for (const t of transports) t.close();
  await closePlatform(platform);
  process.exit(0);
}
