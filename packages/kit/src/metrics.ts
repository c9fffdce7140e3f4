import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * RED metrics (rate, errors, duration) shared by every server in a process.
 * One registry per process; each series is labelled with the service, so the
 * all-in-one process and a single-service process expose the same names.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'service' | 'method' | 'route' | 'status'>;
  readonly rpcServerDuration: Histogram<'service' | 'procedure' | 'code'>;
  readonly rpcClientDuration: Histogram<'service' | 'procedure' | 'code'>;
  readonly busMessages: Counter<'service' | 'queue' | 'outcome'>;
}

/**
 * Records one HTTP request in the RED histogram. Label children are cached
 * per (method, route, status), so the hot path skips prom-client's label
 * hashing.
 */
export function httpRecorder(metrics: Metrics, service: string) {
  const children = new Map<string, { observe(value: number): void }>();
  return (method: string, route: string, status: number, seconds: number): void => {
    const key = `${method} ${status} ${route}`;
    let child = children.get(key);
    if (!child) {
      child = metrics.httpDuration.labels({ service, method, route, status: String(status) });
      // Routes are a closed set, statuses nearly so; bound it anyway.
      if (children.size < 10_000) children.set(key, child);
    }
    child.observe(seconds);
  };
}

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'wavecast_http_request_duration_seconds',
      help: 'HTTP requests served, by route and status',
      labelNames: ['service', 'method', 'route', 'status'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    rpcServerDuration: new Histogram({
      name: 'wavecast_rpc_server_duration_seconds',
      help: 'RPCs handled, by procedure and result code',
      labelNames: ['service', 'procedure', 'code'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    rpcClientDuration: new Histogram({
      name: 'wavecast_rpc_client_duration_seconds',
      help: 'RPCs made, by procedure and result code (after retries)',
      labelNames: ['service', 'procedure', 'code'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    busMessages: new Counter({
      name: 'wavecast_bus_messages_total',
      help: 'Bus messages handled, by queue and outcome (ack, retry, dead)',
      labelNames: ['service', 'queue', 'outcome'],
      registers: [registry],
    }),
  };
}
