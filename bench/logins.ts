/**
 * Logins per second, and per CPU-second of the server, through the platform
 * (`POST /v1/auth/login`, argon2id at the default cost), against bare
 * `@node-rs/argon2` verifies of a hash of the same cost at the same
 * concurrency, in a child process, measured in the same run.
 *
 *   npm exec -- node bench/logins.ts
 */
import { startChild } from './lib/children.ts';
import { type LoadOutcome, type LoadParams, measureLoad, withEnvOverrides } from './lib/load.ts';
import { type Account, benchEnv, login, register, startPlatform } from './lib/platform.ts';
import { log, type Machine, machine, noiseWarnings, num, table, writeResult } from './lib/report.ts';
import { runMain } from './lib/run-main.ts';

export const defaultParams: LoadParams = withEnvOverrides({
  connections: 8,
  pipelining: 1,
  durationSeconds: 10,
  warmupSeconds: 2,
});

const ACCOUNTS = 8;

/** The platform's default cost (services/auth/src/config.ts), pinned so both sides hash alike. */
const ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export interface Rate {
  perSecond: number;
  perCpuSecond: number;
  cpuMsEach: number;
  /** Cores the process kept busy on average. */
  cores: number;
  /** Cores other processes kept busy meanwhile (NaN off Linux): noise in the figures. */
  otherCores: number;
}

export interface LoginsResult {
  name: 'logins';
  machine: Machine;
  params: LoadParams;
  platformEnv: Record<string, string>;
  argon2: { algorithm: 'argon2id'; memoryCost: number; timeCost: number; parallelism: number };
  baseline: Rate & { verifies: number };
  platform: Rate & { load: LoadOutcome };
  /** Platform logins per CPU-second ÷ bare verifies per CPU-second. */
  cpuRatio: number;
  /** Platform logins/s ÷ bare verifies/s. */
  ratio: number;
}

async function measureBaseline(params: LoadParams): Promise<LoginsResult['baseline']> {
  log(`logins: baseline, bare argon2id verifies, ${params.connections} at a time`);
  const child = await startChild('argon2-verify', new URL('./servers/argon2-verify.ts', import.meta.url), {
    BENCH_CONCURRENCY: String(params.connections),
    BENCH_WARMUP_MS: String(params.warmupSeconds * 1000),
    BENCH_DURATION_MS: String(params.durationSeconds * 1000),
    BENCH_ARGON2_MEMORY_KIB: String(ARGON2.memoryCost),
    BENCH_ARGON2_ITERATIONS: String(ARGON2.timeCost),
  });
  try {
    const timeoutMs = (params.warmupSeconds + params.durationSeconds) * 1000 + 30_000;
    const { verifies, wallMs, cpuUs, machineCores } = await child.message('result', timeoutMs);
    const cores = cpuUs / 1000 / wallMs;
    return {
      verifies,
      perSecond: verifies / (wallMs / 1000),
      perCpuSecond: verifies / (cpuUs / 1e6),
      cpuMsEach: cpuUs / 1000 / verifies,
      cores,
      otherCores: Math.max(0, machineCores - cores),
    };
  } finally {
    await child.stop();
  }
}

async function measurePlatform(params: LoadParams): Promise<LoginsResult['platform']> {
  log(`logins: platform, POST /v1/auth/login over ${params.connections} connections`);
  const platform = await startPlatform({
    AUTH_ARGON2_MEMORY_KIB: String(ARGON2.memoryCost),
    AUTH_ARGON2_ITERATIONS: String(ARGON2.timeCost),
  });
  try {
    const accounts: Account[] = await Promise.all(
      Array.from({ length: ACCOUNTS }, (_, i) =>
        register(platform.url, `bench_login_${i}`, `correct horse battery ${i}`),
      ),
    );
    for (const a of accounts) await login(platform.url, a.username, a.password);
    const requests = accounts.map((a) => ({
      method: 'POST',
      path: '/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: a.username, password: a.password }),
    }));
    const load = await measureLoad('POST /v1/auth/login', platform, { url: platform.url, requests }, params);
    return {
      load,
      perSecond: load.requestsPerSecond,
      perCpuSecond: load.requestsPerServerCpuSecond,
      cpuMsEach: load.serverCpuUsPerRequest / 1000,
      cores: load.serverCpuSeconds / load.durationSeconds,
      // The load generator belongs to this benchmark, not to the noise.
      otherCores: load.otherCores,
    };
  } finally {
    await platform.stop();
  }
}

export function printLogins(r: LoginsResult): void {
  const row = (name: string, x: Rate, p50: string, p99: string) => [
    name,
    num(x.perSecond, 1),
    p50,
    p99,
    num(x.cores, 2),
    num(x.cpuMsEach, 1),
    num(x.perCpuSecond, 1),
    num(x.otherCores, 2),
  ];
  const { connections, durationSeconds, warmupSeconds } = r.params;
  const { memoryCost, timeCost } = r.argon2;
  console.log(
    `\nlogins: argon2id m=${memoryCost} KiB t=${timeCost}, ${connections} at a time, ` +
      `${durationSeconds} s after ${warmupSeconds} s warm-up, ${r.machine.cores} cores\n`,
  );
  const { latencyMs } = r.platform.load;
  console.log(
    table(
      ['', 'per s', 'p50 ms', 'p99 ms', 'CPU cores', 'CPU ms each', 'per CPU-s', 'other cores'],
      [
        row('bare argon2id verify', r.baseline, '', ''),
        row('POST /v1/auth/login', r.platform, num(latencyMs.p50), num(latencyMs.p99)),
      ],
    ),
  );
  console.log(
    `\nratio platform/baseline per CPU-second: ${num(r.cpuRatio, 2)}; per second: ${num(r.ratio, 2)}; ` +
      `CPU beyond the hash: ${num(r.platform.cpuMsEach - r.baseline.cpuMsEach, 1)} ms per login`,
  );
  for (const w of noiseWarnings([
    ['bare argon2id verify', r.baseline.otherCores],
    ['POST /v1/auth/login', r.platform.otherCores],
  ]))
    console.log(w);
}

export async function benchLogins(params: LoadParams = defaultParams): Promise<LoginsResult> {
  const baseline = await measureBaseline(params);
  const platform = await measurePlatform(params);
  const result: LoginsResult = {
    name: 'logins',
    machine: machine(),
    params,
    platformEnv: benchEnv,
    argon2: { algorithm: 'argon2id', ...ARGON2 },
    baseline,
    platform,
    cpuRatio: platform.perCpuSecond / baseline.perCpuSecond,
    ratio: platform.perSecond / baseline.perSecond,
  };
  printLogins(result);
  log(`wrote ${writeResult(result.name, result)}`);
  return result;
}

if (import.meta.main) await runMain(() => benchLogins());
