import { createClient, type Transport } from '@connectrpc/connect';
import { AuthService } from '@wavecast/contracts/gen/wavecast/auth/v1/auth_pb.js';
import { CatalogService } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import { ChannelsService } from '@wavecast/contracts/gen/wavecast/channels/v1/channels_pb.js';
import { UsersService } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import type { Bus } from '@wavecast/kit/bus';
import type { Cache } from '@wavecast/kit/cache';
import type { ConfigOf } from '@wavecast/kit/config';
import type { Logger } from '@wavecast/kit/log';
import type { Metrics } from '@wavecast/kit/metrics';
import type { ReadyCheck } from '@wavecast/kit/rpc';
import type { Storage } from '@wavecast/kit/storage';
import { TokenVerifier } from '@wavecast/kit/tokens';
import type { JSONWebKeySet } from 'jose';
import { buildGateway } from './app.ts';
import type { gatewayConfigSpec } from './config.ts';
import { ListingCache } from './listing-cache.ts';
import { type LiveBackend, proxyLiveBackend } from './live-backend.ts';
import { PublicVideos } from './media/public-videos.ts';
import { ProfileCache } from './profile-cache.ts';
import type { RawHandler } from './raw-handlers.ts';
import type { TypedApp } from './typed.ts';
import type { UploadsBackend } from './uploads-backend.ts';

export { gatewayConfigSpec } from './config.ts';
export type { LiveBackend, LiveResponse, LiveViewer } from './live-backend.ts';
export { type RawHandler, rawProxy } from './raw-handlers.ts';
export {
  httpUploadsBackend,
  inProcessUploads,
  type UploadCaller,
  type UploadsBackend,
} from './uploads-backend.ts';

export interface GatewayOptions {
  config: ConfigOf<typeof gatewayConfigSpec>;
  logger: Logger;
  metrics: Metrics;
  cache: Cache;
  bus: Bus;
  users: Transport;
  auth: Transport;
  channels: Transport;
  catalog: Transport;
  /** Where VOD outputs are (served under /media/). */
  storage: Storage;
  /** In-process live playback (all-in-one); without it, /live/ is proxied to the channel's ingest node. */
  live?: LiveBackend;
  /** Raw-request endpoints such as tus uploads (in-process handler, or `rawProxy` to an instance). */
  raw?: RawHandler[];
  /** The direct-to-bucket upload calls (`inProcessUploads`, or `httpUploadsBackend` to an instance). */
  uploads?: UploadsBackend;
  readiness: Record<string, ReadyCheck>;
}

/** Wires the gateway: RPC clients, token verifier, profile cache, routes. Does not listen. */
export async function createGateway(
  opts: GatewayOptions,
): Promise<{ app: TypedApp; close(): Promise<void> }> {
  const users = createClient(UsersService, opts.users);
  const auth = createClient(AuthService, opts.auth);
  const verifier = new TokenVerifier({
    fetchJwks: async () => JSON.parse((await auth.getJwks({})).jwksJson) as JSONWebKeySet,
    cache: opts.cache,
  });
  const channels = createClient(ChannelsService, opts.channels);
  const catalog = createClient(CatalogService, opts.catalog);
  const profiles = new ProfileCache(opts.cache, opts.config.profileCacheSeconds);
  const subscription = await profiles.subscribe(opts.bus);
  const building = buildGateway({
    config: opts.config,
    logger: opts.logger,
    metrics: opts.metrics,
    cache: opts.cache,
    users,
    auth,
    channels,
    catalog,
    live: opts.live ?? proxyLiveBackend(channels),
    raw: opts.raw ?? [],
    ...(opts.uploads && { uploads: opts.uploads }),
    storage: opts.storage,
    publicVideos: new PublicVideos(catalog),
    verifier,
    profiles,
    listings: new ListingCache(opts.cache, opts.config.listingCacheSeconds),
    readiness: { cache: () => opts.cache.ping(), bus: () => opts.bus.ping(), ...opts.readiness },
  });
  // Wiring that is wrong (e.g. PLAYBACK_MODE=s3-presigned on local storage) fails here.
  const app = await building.catch(async (err: unknown) => {
    await subscription.close();
    throw err;
  });
  return {
    app,
    async close() {
      await app.close();
      await subscription.close();
    },
  };
}
