/**
 * Inside a benchmark's child process: the whole platform as the all-in-one
 * process runs it (every service, PGlite in memory unless DATABASE_URL says
 * otherwise), in a temporary data directory removed on exit, on 127.0.0.1
 * only (HTTP and RTMP on free ports), configured by the child's environment.
 * Stopping the child (see child-runtime.ts) runs `beforeClose`, then closes it.
 */
import '@wavecast/kit/tick-shape';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type AllInOne, loadAllInOneConfig, startAllInOne } from '../../apps/cli/src/all-in-one.ts';
import { childRuntime } from './child-runtime.ts';

export async function startChildPlatform(opts: {
  dirPrefix: string;
  logLevel: string;
  beforeClose?: () => void;
}): Promise<AllInOne> {
  const dataDir = mkdtempSync(path.join(tmpdir(), opts.dirPrefix));
  process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  let running: AllInOne | undefined;
  childRuntime(async () => {
    opts.beforeClose?.();
    await running?.close();
  });
  const config = loadAllInOneConfig({
    ...process.env,
    WAVECAST_DATA_DIR: dataDir,
    DATABASE_URL: process.env.DATABASE_URL ?? 'pglite:memory',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    RTMP_HOST: '127.0.0.1',
    RTMP_PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? opts.logLevel,
  });
  running = await startAllInOne(config);
  return running;
}
