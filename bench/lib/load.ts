/**
 * HTTP load with autocannon (programmatic API, in the benchmark's process;
 * the server under test is a child process): a warm-up run, then measured
 * runs with the server's CPU time sampled around each. Any non-2xx response or
 * connection error fails the measurement: a fast error page is not a result.
 */
import autocannon, { type Options, type Result } from 'autocannon';
import type { Child } from './children.ts';
import { busyCores, machineSample } from './machine-load.ts';
import { cpuBetween, cpuSample } from './protocol.ts';

export interface LoadParams {
  connections: number;
  pipelining: number;
  durationSeconds: number;
  warmupSeconds: number;
}

/** `BENCH_DURATION_SECONDS` and `BENCH_WARMUP_SECONDS` shorten or lengthen every run (e.g. a quick smoke run). */
export function withEnvOverrides(params: LoadParams): LoadParams {
  const seconds = (name: string, fallback: number) => {
    const value = Number(process.env[name]);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  return {
    ...params,
    durationSeconds: seconds('BENCH_DURATION_SECONDS', params.durationSeconds),
    warmupSeconds: seconds('BENCH_WARMUP_SECONDS', params.warmupSeconds),
  };
}

export interface LoadOutcome {
  /** Mean of autocannon's per-second samples (what its own table prints as Avg Req/Sec). */
  requestsPerSecond: number;
  requests: number;
  durationSeconds: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  statusCodes: Record<string, number>;
  /** CPU seconds the server process spent during the measured run, and per request. */
  serverCpuSeconds: number;
  serverCpuUsPerRequest: number;
  /** The same split into user and kernel time: loopback TCP and wake-ups are kernel time. */
  serverUserUsPerRequest: number;
  serverSystemUsPerRequest: number;
  /** Requests per CPU-second of the server: throughput with the machine's other load factored out. */
  requestsPerServerCpuSecond: number;
  /** Cores the load generator kept busy; near 1 means it, not the server, may be the limit. */
  loadGeneratorCores: number;
  /** Cores other processes on the machine kept busy meanwhile (NaN off Linux): noise in the figures. */
  otherCores: number;
}

type Target = Omit<Options, 'connections' | 'pipelining' | 'duration'>;

function run(opts: Options): Promise<Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

function statusCodes(result: Result): Record<string, number> {
  return Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
}

function assertAllOk(label: string, result: Result): void {
  if (result.non2xx === 0 && result.errors === 0 && result.timeouts === 0 && result.requests.total > 0)
    return;
  throw new Error(
    `${label}: ${result.requests.total} responses, ${result.non2xx} non-2xx, ${result.errors} errors, ` +
      `${result.timeouts} timeouts; status codes ${JSON.stringify(statusCodes(result))}`,
  );
}

/** Load without measuring: lets the JIT, caches and connection pools settle first. */
export async function warmUp(label: string, target: Target, params: LoadParams): Promise<void> {
  const common = { ...target, connections: params.connections, pipelining: params.pipelining };
  assertAllOk(`${label} (warm-up)`, await run({ ...common, duration: params.warmupSeconds }));
}

/** One measured run of `params.durationSeconds`, with the server's CPU time sampled around it. */
export async function measureRun(
  label: string,
  server: Child,
  target: Target,
  params: LoadParams,
): Promise<LoadOutcome> {
  const common = { ...target, connections: params.connections, pipelining: params.pipelining };
  const serverBefore = await server.cpu();
  const machineBefore = machineSample();
  const selfBefore = cpuSample();
  const result = await run({ ...common, duration: params.durationSeconds });
  const self = cpuBetween(selfBefore, cpuSample());
  const machineCores = busyCores(machineBefore, machineSample());
  const serverAfter = await server.cpu();
  const serverCpu = cpuBetween(serverBefore, serverAfter);
  assertAllOk(label, result);

  const { latency } = result;
  return {
    requestsPerSecond: result.requests.average,
    requests: result.requests.total,
    durationSeconds: result.duration,
    latencyMs: { mean: latency.mean, p50: latency.p50, p90: latency.p90, p99: latency.p99, max: latency.max },
    statusCodes: statusCodes(result),
    serverCpuSeconds: serverCpu.cpuSeconds,
    serverCpuUsPerRequest: (serverCpu.cpuSeconds * 1e6) / result.requests.total,
    serverUserUsPerRequest: (serverAfter.userUs - serverBefore.userUs) / result.requests.total,
    serverSystemUsPerRequest: (serverAfter.systemUs - serverBefore.systemUs) / result.requests.total,
    requestsPerServerCpuSecond: result.requests.total / serverCpu.cpuSeconds,
    loadGeneratorCores: self.cpuSeconds / self.wallSeconds,
    otherCores: Math.max(
      0,
      machineCores - self.cpuSeconds / self.wallSeconds - serverCpu.cpuSeconds / serverCpu.wallSeconds,
    ),
  };
}

/** A warm-up, then one measured run. */
export async function measureLoad(
  label: string,
  server: Child,
  target: Target,
  params: LoadParams,
): Promise<LoadOutcome> {
  await warmUp(label, target, params);
  return measureRun(label, server, target, params);
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/**
 * Several runs of one server as one outcome: throughput and CPU over all of
 * them together, latency percentiles as the median of the runs' own.
 */
export function combineRuns(runs: LoadOutcome[]): LoadOutcome {
  if (runs.length === 0) throw new Error('no runs to combine');
  const sum = (f: (o: LoadOutcome) => number) => runs.reduce((acc, o) => acc + f(o), 0);
  const requests = sum((o) => o.requests);
  const seconds = sum((o) => o.durationSeconds);
  const cpuSeconds = sum((o) => o.serverCpuSeconds);
  const userUs = sum((o) => o.serverUserUsPerRequest * o.requests);
  const systemUs = sum((o) => o.serverSystemUsPerRequest * o.requests);
  const statusCodes: Record<string, number> = {};
  for (const o of runs)
    for (const [code, n] of Object.entries(o.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const latency = (f: (o: LoadOutcome) => number) => median(runs.map(f));
  return {
    requestsPerSecond: requests / seconds,
    requests,
    durationSeconds: seconds,
    latencyMs: {
      mean: latency((o) => o.latencyMs.mean),
      p50: latency((o) => o.latencyMs.p50),
      p90: latency((o) => o.latencyMs.p90),
      p99: latency((o) => o.latencyMs.p99),
      max: Math.max(...runs.map((o) => o.latencyMs.max)),
    },
    statusCodes,
    serverCpuSeconds: cpuSeconds,
    serverCpuUsPerRequest: (cpuSeconds * 1e6) / requests,
    serverUserUsPerRequest: userUs / requests,
    serverSystemUsPerRequest: systemUs / requests,
    requestsPerServerCpuSecond: requests / cpuSeconds,
    loadGeneratorCores: sum((o) => o.loadGeneratorCores * o.durationSeconds) / seconds,
    otherCores: sum((o) => o.otherCores * o.durationSeconds) / seconds,
  };
}

export { median };
