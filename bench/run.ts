/**
 * Every benchmark in sequence, then one summary table (`npm run bench`).
 * Each also runs alone: `npm exec -- node bench/<name>.ts`. Results are in bench/results/.
 */
import { benchGatewayUsers } from './gateway-users.ts';
import { OTHER_LOAD_WARNING_CORES } from './lib/machine-load.ts';
import { machine, num, table, writeResult } from './lib/report.ts';
import { runMain } from './lib/run-main.ts';
import { benchLogins } from './logins.ts';

async function main(): Promise<void> {
  const started = performance.now();
  const gateway = await benchGatewayUsers();
  const logins = await benchLogins();
  const m = machine();
  const otherCores = Math.max(
    gateway.baseline.otherCores,
    gateway.platform.otherCores,
    logins.baseline.otherCores,
    logins.platform.otherCores,
  );
  const summary = {
    name: 'summary',
    machine: m,
    /** The most cores other processes kept busy during any measurement. */
    otherCores,
    gatewayUsers: {
      platformRps: gateway.platform.requestsPerSecond,
      baselineRps: gateway.baseline.requestsPerSecond,
      ratio: gateway.ratio,
      cpuRatio: gateway.cpuRatio,
      target: gateway.target,
      meetsTarget: gateway.meetsTarget,
    },
    logins: {
      platformPerSecond: logins.platform.perSecond,
      platformPerCpuSecond: logins.platform.perCpuSecond,
      baselinePerSecond: logins.baseline.perSecond,
      baselinePerCpuSecond: logins.baseline.perCpuSecond,
      cpuRatio: logins.cpuRatio,
    },
  };
  writeResult('summary', summary);

  console.log(`\nsummary (${m.cores} cores, ${m.cpu}, Node ${m.node}, ${m.date})\n`);
  console.log(
    table(
      ['benchmark', 'platform', 'baseline', 'ratio', 'per CPU-s ratio', 'target'],
      [
        [
          'GET /v1/users/{id} req/s',
          num(gateway.platform.requestsPerSecond),
          num(gateway.baseline.requestsPerSecond),
          num(gateway.ratio, 2),
          num(gateway.cpuRatio, 2),
          `>= ${gateway.target} ${gateway.meetsTarget ? 'met' : 'NOT MET'}`,
        ],
        [
          'logins/s',
          num(logins.platform.perSecond, 1),
          num(logins.baseline.perSecond, 1),
          num(logins.ratio, 2),
          num(logins.cpuRatio, 2),
          '',
        ],
        [
          'logins per CPU-s',
          num(logins.platform.perCpuSecond, 1),
          num(logins.baseline.perCpuSecond, 1),
          num(logins.cpuRatio, 2),
          '',
          '',
        ],
      ],
    ),
  );
  if (otherCores > OTHER_LOAD_WARNING_CORES) {
    console.log(
      `\nwarning: other processes kept up to ${num(otherCores, 2)} cores busy; rerun on an idle machine`,
    );
  }
  console.log(`\ntook ${num((performance.now() - started) / 1000)} s`);
}

await runMain(main);
