/**
 * What a Wavecast service hands to whoever runs it: RPC routes, a readiness
 * check, and a stop function. The same instance runs inside the all-in-one
 * process or alone behind its own gRPC port (`runService`).
 */
import { once } from 'node:events';
import { type OpsServer, startOpsServer } from './http.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import { type ReadyCheck, registerHealth } from './rpc/health.ts';
import { type Routes, type RpcServer, serverInterceptors, startRpcServer } from './rpc/server.ts';

export interface ServiceInstance {
  readonly name: string;
  readonly routes: Routes;
  readonly ready: ReadyCheck;
  /** Stops background work (relays, subscriptions); adapters are closed by the owner. */
  stop(): Promise<void>;
}

export interface RunningService {
  readonly rpcPort: number;
  readonly opsPort: number;
  close(): Promise<void>;
}

/** Serves one service: gRPC (with grpc.health.v1) on `rpcPort`, /healthz /readyz /metrics on `opsPort`. */
export async function runService(opts: {
  instance: ServiceInstance;
  host: string;
  rpcPort: number;
  opsPort: number;
  logger: Logger;
  metrics: Metrics;
}): Promise<RunningService> {
  const { instance } = opts;
  const checks = { [instance.name]: instance.ready };
  const routes: Routes = (router) => {
    instance.routes(router);
    registerHealth(router, checks);
  };
  const interceptors = serverInterceptors({
    service: instance.name,
    logger: opts.logger,
    metrics: opts.metrics,
  });
  let rpc: RpcServer | undefined;
  let ops: OpsServer | undefined;
  try {
    rpc = await startRpcServer({ routes, interceptors, host: opts.host, port: opts.rpcPort });
    ops = await startOpsServer({ host: opts.host, port: opts.opsPort, metrics: opts.metrics, checks });
  } catch (err) {
    await rpc?.close();
    throw err;
  }
  const rpcServer = rpc;
  const opsServer = ops;
  return {
    rpcPort: rpcServer.port,
    opsPort: opsServer.port,
    async close() {
      await Promise.all([rpcServer.close(), opsServer.close()]);
    },
  };
}

/** Resolves on the first SIGINT or SIGTERM. */
export async function shutdownSignal(): Promise<string> {
  const ac = new AbortController();
  const signal = await Promise.race([
    once(process, 'SIGTERM', { signal: ac.signal }).then(() => 'SIGTERM'),
    once(process, 'SIGINT', { signal: ac.signal }).then(() => 'SIGINT'),
  ]);
  ac.abort();
  return signal;
}
