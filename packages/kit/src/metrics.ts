import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * RED metrics (rate, errors, duration) shared by every server in a process.
 * One registry per process; each series is labelled with the service, so the
 * all-in-one process and a single-service process expose the same names.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly httpDuration: HotHistogram<'service' | 'method' | 'route' | 'status'>;
  readonly rpcServerDuration: Histogram<'service' | 'procedure' | 'code'>;
  readonly rpcClientDuration: Histogram<'service' | 'procedure' | 'code'>;
  readonly busMessages: Counter<'service' | 'queue' | 'outcome'>;
}

/** Records one observation in one series (one set of label values). */
export type Observe = (value: number) => void;

interface Series {
  readonly labels: Readonly<Record<string, string>>;
  /** Per bucket, not cumulative; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram for the hot path, exposed through a prom-client
 * registry. A series is resolved once (`series(labels)`); recording is then a
 * bucket search and three additions, where prom-client's own histogram
 * validates and hashes the labels again on every observation.
 */
export class HotHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #labelNames: readonly L[];
  readonly #series = new Map<string, Series>();

  readonly name: string;
  readonly help: string;

  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    bounds: readonly number[],
    registry: Registry,
  ) {
    this.name = name;
    this.help = help;
    this.#labelNames = labelNames;
    this.#bounds = [...bounds].sort((a, b) => a - b);
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  series(labels: Record<L, string>): Observe {
    const values = this.#labelNames.map((l) => String(labels[l]));
    const key = values.join('\u0000');
    let s = this.#series.get(key);
    if (!s) {
      const own: Record<string, string> = {};
      this.#labelNames.forEach((l, i) => {
        own[l] = values[i] as string;
      });
      s = { labels: own, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    const series = s;
    const bounds = this.#bounds;
    return (value) => {
      if (!Number.isFinite(value)) return;
      let i = 0;
      while (i < bounds.length && value > (bounds[i] as number)) i++;
      series.counts[i] = (series.counts[i] as number) + 1;
      series.sum += value;
      series.count += 1;
    };
  }

  /** prom-client's metric interface: what the registry renders. */
  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.#series.values()) {
      let acc = 0;
      this.#bounds.forEach((le, i) => {
        acc += s.counts[i] as number;
        values.push({ labels: { ...s.labels, le }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const s of this.#series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}

/**
 * Records HTTP requests in the RED histogram. `route(url)` is resolved once
 * per route when the server is built; recording a request is then the
 * lookup of its (method, status) series, usually the same as last time.
 */
export function httpRecorder(metrics: Metrics, service: string) {
  return {
    route(route: string) {
      const series = new Map<string, Observe>();
      let lastMethod = '';
      let lastStatus = 0;
      let last: Observe | undefined;
      return (method: string, status: number, seconds: number): void => {
        if (method !== lastMethod || status !== lastStatus || !last) {
          const key = `${method} ${status}`;
          let found = series.get(key);
          if (!found) {
            found = metrics.httpDuration.series({ service, method, route, status: String(status) });
            // Statuses are nearly a closed set; bound it anyway.
            if (series.size < 100) series.set(key, found);
          }
          lastMethod = method;
          lastStatus = status;
          last = found;
        }
        last(seconds);
      };
    },
  };
}

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new HotHistogram(
      'wavecast_http_request_duration_seconds',
      'HTTP requests served, by route and status',
      ['service', 'method', 'route', 'status'],
      latencyBuckets,
      registry,
    ),
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
