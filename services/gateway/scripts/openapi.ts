/**
 * Writes the gateway's OpenAPI documents (public, private, admin) into
 * contracts/openapi/, generated from the route schemas. With `--check`, fails
 * instead when the committed documents differ from the code.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createClient, createRouterTransport } from '@connectrpc/connect';
import { AuthService } from '@wavecast/contracts/gen/wavecast/auth/v1/auth_pb.js';
import { CatalogService } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import { ChannelsService } from '@wavecast/contracts/gen/wavecast/channels/v1/channels_pb.js';
import { UsersService } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import { openCache } from '@wavecast/kit/cache';
import { loadConfig } from '@wavecast/kit/config';
import { createLogger } from '@wavecast/kit/log';
import { createMetrics } from '@wavecast/kit/metrics';
import type { Storage } from '@wavecast/kit/storage';
import { TokenVerifier } from '@wavecast/kit/tokens';
import { buildGateway } from '../src/app.ts';
import { gatewayConfigSpec } from '../src/config.ts';
import { ListingCache } from '../src/listing-cache.ts';
import { PublicVideos } from '../src/media/public-videos.ts';
import { audiences, splitDocument } from '../src/openapi.ts';
import { ProfileCache } from '../src/profile-cache.ts';

const outDir = new URL('../../../contracts/openapi/', import.meta.url);

async function documents(): Promise<Record<string, string>> {
  // Only the route table is needed: nothing is called, so the clients have no server.
  const nowhere = createRouterTransport(() => {});
  const cache = await openCache('memory:');
  const catalog = createClient(CatalogService, nowhere);
  const app = await buildGateway({
    config: loadConfig(gatewayConfigSpec, {}),
    logger: createLogger({ service: 'openapi', level: 'silent' }),
    metrics: createMetrics({ defaultMetrics: false }),
    cache,
    users: createClient(UsersService, nowhere),
    auth: createClient(AuthService, nowhere),
    channels: createClient(ChannelsService, nowhere),
    catalog,
    verifier: new TokenVerifier({ fetchJwks: async () => ({ keys: [] }), cache }),
    profiles: new ProfileCache(cache, 0),
    listings: new ListingCache(cache, 0),
    live: { handle: async () => undefined },
    storage: {} as Storage,
    publicVideos: new PublicVideos(catalog),
    readiness: {},
  });
  const split = splitDocument(app.swagger());
  await app.close();
  await cache.close();
  return Object.fromEntries(audiences.map((a) => [a, `${JSON.stringify(split[a], null, 2)}\n`]));
}

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [audience, text] of Object.entries(await documents())) {
  const file = new URL(`${audience}.json`, outDir);
  if (check) {
    const committed = await readFile(file, 'utf8').catch(() => '');
    if (committed !== text) stale.push(fileURLToPath(file));
  } else {
    await writeFile(file, text);
  }
}
if (stale.length > 0) {
  process.stderr.write(
    `OpenAPI documents are out of date: ${stale.join(', ')}\nrun 'npm run openapi:generate' and commit the result\n`,
  );
  process.exit(1);
}
process.stdout.write(check ? 'openapi: in sync\n' : `openapi: written to ${fileURLToPath(outDir)}\n`);
