/**
 * Throughput of the hottest public read, `GET /v1/users/{id}` with a warm
 * profile cache, through the real gateway of the all-in-one process, against
 * a bare Fastify hello-world measured in the same run with the same load.
 * Target: platform / baseline >= 0.6.
 *
 *   npm exec -- node bench/gateway-users.ts
 */
import { startChild } from './lib/children.ts';
import { type LoadOutcome, type LoadParams, measureLoad, withEnvOverrides } from './lib/load.ts';
import { benchEnv, getUser, register, startPlatform } from './lib/platform.ts';
import { log, type Machine, machine, noiseWarnings, num, table, writeResult } from './lib/report.ts';
import { runMain } from './lib/run-main.ts';

export const TARGET_RATIO = 0.6;

export const defaultParams: LoadParams = withEnvOverrides({
  connections: 50,
  pipelining: 1,
  durationSeconds: 10,
  warmupSeconds: 2,
});

export interface GatewayUsersResult {
  name: 'gateway-users';
  machine: Machine;
  params: LoadParams;
  platformEnv: Record<string, string>;
  baseline: LoadOutcome;
  platform: LoadOutcome;
  /** platform req/s ÷ baseline req/s: the target is on this one. */
  ratio: number;
  /** Same ratio per server CPU-second, which discounts the load generator sharing the cores. */
  cpuRatio: number;
  target: number;
  meetsTarget: boolean;
}

async function measureBaseline(params: LoadParams): Promise<LoadOutcome> {
  log('gateway-users: baseline, bare Fastify hello-world');
  const hello = await startChild('hello-world', new URL('./servers/hello.ts', import.meta.url));
  try {
    return await measureLoad('hello-world', hello, { url: `${hello.ready.url}/` }, params);
  } finally {
    await hello.stop();
  }
}

async function measurePlatform(params: LoadParams): Promise<LoadOutcome> {
  log('gateway-users: platform, GET /v1/users/{id} with a warm profile cache');
  const platform = await startPlatform();
  try {
    const { id } = await register(platform.url, 'bench_viewer', 'correct horse battery staple');
    // The first read fills the gateway's profile cache; every later one is a hit.
    await getUser(platform.url, id);
    return await measureLoad(
      'GET /v1/users/{id}',
      platform,
      { url: `${platform.url}/v1/users/${id}` },
      params,
    );
  } finally {
    await platform.stop();
  }
}

export function printGatewayUsers(r: GatewayUsersResult): void {
  const row = (name: string, o: LoadOutcome) => [
    name,
    num(o.requestsPerSecond),
    num(o.latencyMs.p50),
    num(o.latencyMs.p99),
    num(o.serverCpuUsPerRequest, 1),
    num(o.serverUserUsPerRequest, 1),
    num(o.requestsPerServerCpuSecond),
    num(o.loadGeneratorCores, 2),
    num(o.otherCores, 2),
  ];
  const { connections, pipelining, durationSeconds, warmupSeconds } = r.params;
  console.log(
    `\ngateway-users: ${connections} connections, pipelining ${pipelining}, ` +
      `${durationSeconds} s after ${warmupSeconds} s warm-up, ${r.machine.cores} cores\n`,
  );
  console.log(
    table(
      [
        '',
        'req/s',
        'p50 ms',
        'p99 ms',
        'server CPU µs/req',
        'of which user',
        'req/CPU-s',
        'load-gen cores',
        'other cores',
      ],
      [row('fastify hello-world', r.baseline), row('GET /v1/users/{id}', r.platform)],
    ),
  );
  console.log(
    `\nratio platform/baseline: ${num(r.ratio, 2)} (target >= ${r.target}: ${r.meetsTarget ? 'met' : 'NOT MET'}); ` +
      `per server CPU-second: ${num(r.cpuRatio, 2)}`,
  );
  for (const w of noiseWarnings([
    ['fastify hello-world', r.baseline.otherCores],
    ['GET /v1/users/{id}', r.platform.otherCores],
  ]))
    console.log(w);
}

export async function benchGatewayUsers(params: LoadParams = defaultParams): Promise<GatewayUsersResult> {
  const baseline = await measureBaseline(params);
  const platform = await measurePlatform(params);
  const ratio = platform.requestsPerSecond / baseline.requestsPerSecond;
  const result: GatewayUsersResult = {
    name: 'gateway-users',
    machine: machine(),
    params,
    platformEnv: benchEnv,
    baseline,
    platform,
    ratio,
    cpuRatio: platform.requestsPerServerCpuSecond / baseline.requestsPerServerCpuSecond,
    target: TARGET_RATIO,
    meetsTarget: ratio >= TARGET_RATIO,
  };
  printGatewayUsers(result);
  log(`wrote ${writeResult(result.name, result)}`);
  return result;
}

if (import.meta.main) await runMain(() => benchGatewayUsers());
