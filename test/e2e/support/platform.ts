/**
 * The all-in-one platform started in the test's own process: PGlite in
 * memory, loopback ports chosen by the OS, a temporary data directory, limits
 * opened for tests. `env` overrides any of it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AllInOne, loadAllInOneConfig, startAllInOne } from '../../../apps/cli/src/all-in-one.ts';
import { Api } from './api.ts';

export interface TestPlatform {
  platform: AllInOne;
  api: Api;
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestPlatform(
  tag: string,
  env: Record<string, string> = {},
  existingDataDir?: string,
): Promise<TestPlatform> {
  const dataDir = existingDataDir ?? (await mkdtemp(join(tmpdir(), `wavecast-${tag}-`)));
  try {
    const platform = await startAllInOne(
      loadAllInOneConfig({
        WAVECAST_DATA_DIR: dataDir,
        DATABASE_URL: 'pglite:memory',
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        RTMP_HOST: '127.0.0.1',
        RTMP_PORT: '0',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        AUTH_RATE_LIMIT_PER_MINUTE: '10000',
        RATE_LIMIT_PER_MINUTE: '100000',
        LIVE_X264_PRESET: 'ultrafast',
        ENCODER_PRESET: 'ultrafast',
        ...env,
      }),
    );
    return {
      platform,
      api: new Api(platform.url),
      dataDir,
      async close() {
        await platform.close();
        if (!existingDataDir) await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (!existingDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
