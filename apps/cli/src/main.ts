#!/usr/bin/env node
/**
 * `wavecast`: the one entry point.
 *   wavecast start            all services in one process (embedded defaults)
 *   wavecast start <service>  one service, configured by environment (users, auth, channels, catalog, ingest, gateway)
 *   wavecast migrate          apply database migrations of every service, then exit
 */
import '@wavecast/kit/tick-shape';
import { shutdownSignal } from '@wavecast/kit/service';
import { describeStartupError } from '@wavecast/kit/standalone';
import { loadAllInOneConfig, startAllInOne } from './all-in-one.ts';
import { migrateAll } from './migrate.ts';

const services: Record<string, () => Promise<{ main(): Promise<void> }>> = {
  users: () => import('@wavecast/users/main'),
  auth: () => import('@wavecast/auth/main'),
  channels: () => import('@wavecast/channels/main'),
  catalog: () => import('@wavecast/catalog/main'),
  gateway: () => import('@wavecast/gateway/main'),
  ingest: () => import('@wavecast/ingest/main'),
  uploads: () => import('@wavecast/uploads/main'),
  encoder: () => import('@wavecast/encoder/main'),
};

const usage = `usage:
  wavecast start              run every service in one process (embedded defaults)
  wavecast start <service>    run one service: ${Object.keys(services).join(', ')}
  wavecast migrate            apply database migrations, then exit
`;

function fail(message: string): never {
  process.stderr.write(`wavecast: ${message}\n`);
  process.exit(1);
}

async function startAll(): Promise<void> {
  let config: ReturnType<typeof loadAllInOneConfig>;
  try {
    config = loadAllInOneConfig();
  } catch (err) {
    return fail(`cannot start: ${describeStartupError(err)}`);
  }
  const running = await startAllInOne(config).catch((err) =>
    fail(`cannot start: ${describeStartupError(err)}`),
  );
  const base = `http://localhost:${running.port}`;
  process.stdout.write(
    [
      '',
      `Wavecast is running (data in ${config.dataDir})`,
      `  API        ${base}/v1`,
      `  API docs   ${base}/docs`,
      `  RTMP       rtmp://localhost:${running.rtmpPort}/live/<stream key>  (GET ${base}/v1/me/channel shows yours)`,
      `  health     ${base}/healthz  ${base}/readyz`,
      `  metrics    ${base}/metrics`,
      '',
    ].join('\n'),
  );
  const signal = await shutdownSignal();
  running.logger.info({ signal }, 'shutting down');
  await running.close();
  process.exit(0);
}

async function run(argv: string[]): Promise<void> {
  const [command = 'start', target, ...rest] = argv;
  if (rest.length > 0) fail(`unexpected arguments: ${rest.join(' ')}\n${usage}`);
  switch (command) {
    case 'start': {
      if (!target || target === 'all') return startAll();
      const load = services[target];
      if (!load) fail(`unknown service "${target}"\n${usage}`);
      return (await load()).main();
    }
    case 'migrate':
      try {
        const applied = await migrateAll();
        process.stdout.write(
          applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n',
        );
        process.exit(0);
      } catch (err) {
        fail(`migration failed: ${describeStartupError(err)}`);
      }
      return;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return;
    default:
      fail(`unknown command "${command}"\n${usage}`);
  }
}

await run(process.argv.slice(2));
