/**
 * HTTP load with autocannon (programmatic API, in the benchmark's process;
 * the server under test is a child process): a warm-up run, then a measured
 * run with the server's CPU time sampled around it. Any non-2xx response or
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

export async function measureLoad(
  label: string,
  server: Child,
  target: Target,
  params: LoadParams,
): Promise<LoadOutcome> {
  const common = { ...target, connections: params.connections, pipelining: params.pipelining };
  assertAllOk(`${label} (warm-up)`, await run({ ...common, duration: params.warmupSeconds }));

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
