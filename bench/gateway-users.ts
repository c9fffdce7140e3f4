/**
 * Throughput of the hottest public read, `GET /v1/users/{id}` with a warm
 * profile cache, through the real gateway of the all-in-one process, against
 * a bare Fastify hello-world measured in the same run with the same load.
 * Target: platform / baseline >= 0.6.
 *
 * Both servers run side by side and are measured in alternating rounds
 * (A B, B A, ...), so that a slow spell of the machine falls on both; the
 * headline ratio is the median of the rounds' ratios. Each server has a core
 * of its own and the load generator the other (see lib/pin.ts).
 *
 *   npm exec -- node bench/gateway-users.ts
 */
import { type Child, startChild } from './lib/children.ts';
import {
  combineRuns,
  type LoadOutcome,
  type LoadParams,
  measureRun,
  median,
  warmUp,
  withEnvOverrides,
} from './lib/load.ts';
import { pinCores } from './lib/pin.ts';
import { benchEnv, getUser, register, startPlatform } from './lib/platform.ts';
import { log, type Machine, machine, noiseWarnings, num, table, writeResult } from './lib/report.ts';
import { runMain } from './lib/run-main.ts';

export const TARGET_RATIO = 0.6;

export interface RoundParams extends LoadParams {
  /** Measured rounds; in each, both servers are measured for `durationSeconds`. */
  rounds: number;
}

export const defaultParams: RoundParams = {
  ...withEnvOverrides({ connections: 50, pipelining: 1, durationSeconds: 4, warmupSeconds: 3 }),
  rounds: Math.max(1, Number(process.env.BENCH_ROUNDS) || 10),
};

export interface GatewayUsersResult {
  name: 'gateway-users';
  machine: Machine;
  params: RoundParams;
  /** Whether the servers and the load generator each had a core of their own. */
  pinned: boolean;
  platformEnv: Record<string, string>;
  /** All rounds of each server together. */
  baseline: LoadOutcome;
  platform: LoadOutcome;
  /** platform req/s ÷ baseline req/s in each round. */
  roundRatios: number[];
  /** The median of the rounds' ratios: the target is on this one. */
  ratio: number;
  /** Same ratio per server CPU-second over all rounds, which discounts how the cores were shared. */
  cpuRatio: number;
  target: number;
  meetsTarget: boolean;
}

interface Contender {
  label: string;
  server: Child;
  url: string;
  runs: LoadOutcome[];
}

async function startBaseline(): Promise<Contender> {
  log('gateway-users: starting the baseline, bare Fastify hello-world');
  const hello = await startChild('hello-world', new URL('./servers/hello.ts', import.meta.url));
  return { label: 'hello-world', server: hello, url: `${hello.ready.url}/`, runs: [] };
}

async function startPlatformContender(): Promise<Contender> {
  log('gateway-users: starting the platform, GET /v1/users/{id} with a warm profile cache');
  const platform = await startPlatform();
  const { id } = await register(platform.url, 'bench_viewer', 'correct horse battery staple');
  // The first read fills the gateway's profile cache; every later one is a hit.
  await getUser(platform.url, id);
  return { label: 'GET /v1/users/{id}', server: platform, url: `${platform.url}/v1/users/${id}`, runs: [] };
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
  const { connections, pipelining, durationSeconds, warmupSeconds, rounds } = r.params;
  console.log(
    `\ngateway-users: ${connections} connections, pipelining ${pipelining}, ${warmupSeconds} s warm-up, ` +
      `then ${rounds} alternating rounds of ${durationSeconds} s each, ${r.machine.cores} cores` +
      `${r.pinned ? ' (load generator and each server on a core of its own)' : ''}\n`,
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
    `\nratio platform/baseline, median of the rounds: ${num(r.ratio, 2)} ` +
      `(rounds ${r.roundRatios.map((x) => num(x, 2)).join(', ')}; target >= ${r.target}: ` +
      `${r.meetsTarget ? 'met' : 'NOT MET'}); per server CPU-second: ${num(r.cpuRatio, 2)}`,
  );
  for (const w of noiseWarnings([
    ['fastify hello-world', r.baseline.otherCores],
    ['GET /v1/users/{id}', r.platform.otherCores],
  ]))
    console.log(w);
}

export async function benchGatewayUsers(params: RoundParams = defaultParams): Promise<GatewayUsersResult> {
  // Before pinning: afterwards this process sees one core.
  const machineInfo = machine();
  const pin = pinCores();
  const contenders: Contender[] = [];
  try {
    contenders.push(await startBaseline(), await startPlatformContender());
    for (const c of contenders) {
      pin.pinServer(c.server.pid);
      await warmUp(c.label, { url: c.url }, params);
    }
    const [baseline, platform] = contenders as [Contender, Contender];
    const roundRatios: number[] = [];
    for (let round = 0; round < params.rounds; round++) {
      const order = round % 2 === 0 ? [baseline, platform] : [platform, baseline];
      for (const c of order) c.runs.push(await measureRun(c.label, c.server, { url: c.url }, params));
      const ratio =
        (platform.runs.at(-1) as LoadOutcome).requestsPerSecond /
        (baseline.runs.at(-1) as LoadOutcome).requestsPerSecond;
      roundRatios.push(ratio);
      log(`gateway-users: round ${round + 1}/${params.rounds}: ratio ${num(ratio, 2)}`);
    }
    const base = combineRuns(baseline.runs);
    const plat = combineRuns(platform.runs);
    const ratio = median(roundRatios);
    const result: GatewayUsersResult = {
      name: 'gateway-users',
      machine: machineInfo,
      params,
      pinned: pin.enabled,
      platformEnv: benchEnv,
      baseline: base,
      platform: plat,
      roundRatios,
      ratio,
      cpuRatio: plat.requestsPerServerCpuSecond / base.requestsPerServerCpuSecond,
      target: TARGET_RATIO,
      meetsTarget: ratio >= TARGET_RATIO,
    };
    printGatewayUsers(result);
    log(`wrote ${writeResult(result.name, result)}`);
    return result;
  } finally {
    await Promise.all(contenders.map((c) => c.server.stop()));
    pin.release();
  }
}

if (import.meta.main) await runMain(() => benchGatewayUsers());
