/**
 * The whole platform as the all-in-one process runs it (every service, PGlite
 * in memory), in a temporary data directory that is removed on exit, listening
 * on 127.0.0.1 only. Configured by the environment the benchmark passes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadAllInOneConfig, startAllInOne } from '../../apps/cli/src/all-in-one.ts';
import { childRuntime, send } from '../lib/child-runtime.ts';

const dataDir = mkdtempSync(path.join(tmpdir(), 'wavecast-bench-'));
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));

let running: { close(): Promise<void> } | undefined;
childRuntime(async () => {
  await running?.close();
});

const config = loadAllInOneConfig({
  ...process.env,
  WAVECAST_DATA_DIR: dataDir,
  DATABASE_URL: process.env.DATABASE_URL ?? 'pglite:memory',
  HTTP_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  // The all-in-one process also ingests RTMP; keep it local and off the default port.
  RTMP_HOST: '127.0.0.1',
  RTMP_PORT: '0',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
});
const platform = await startAllInOne(config);
running = platform;
send({ type: 'ready', url: platform.url });
