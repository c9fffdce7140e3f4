import type { Client } from '@connectrpc/connect';
import type { AuthService } from '@wavecast/contracts/gen/wavecast/auth/v1/auth_pb.js';
import type { CatalogService } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import type { ChannelsService } from '@wavecast/contracts/gen/wavecast/channels/v1/channels_pb.js';
import type { UsersService } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import type { Cache } from '@wavecast/kit/cache';
import type { ConfigOf } from '@wavecast/kit/config';
import type { Logger } from '@wavecast/kit/log';
import type { Metrics } from '@wavecast/kit/metrics';
import type { ReadyCheck } from '@wavecast/kit/rpc';
import type { Storage } from '@wavecast/kit/storage';
import type { TokenVerifier } from '@wavecast/kit/tokens';
import type { gatewayConfigSpec } from './config.ts';
import type { ListingCache } from './listing-cache.ts';
import type { LiveBackend } from './live-backend.ts';
import type { PublicVideos } from './media/public-videos.ts';
import type { ProfileCache } from './profile-cache.ts';
import type { RawHandler } from './raw-handlers.ts';
import type { UploadsBackend } from './uploads-backend.ts';

/** Everything the gateway's routes use; built by a composition root. */
export interface GatewayDeps {
  config: ConfigOf<typeof gatewayConfigSpec>;
  logger: Logger;
  metrics: Metrics;
  cache: Cache;
  users: Client<typeof UsersService>;
  auth: Client<typeof AuthService>;
  channels: Client<typeof ChannelsService>;
  catalog: Client<typeof CatalogService>;
  verifier: TokenVerifier;
  profiles: ProfileCache;
  /** Public video listings, shared by all gateways for a few seconds. */
  listings: ListingCache;
  /** Live playback under /live/ (in-process ingest, or a proxy to ingest nodes). */
  live: LiveBackend;
  /** VOD outputs served under /media/. */
  storage: Storage;
  /** Which videos play from unsigned /media/ paths. */
  publicVideos: PublicVideos;
  /** Raw-request endpoints (tus uploads), answered before Fastify parses anything. */
  raw?: RawHandler[];
  /** The direct-to-bucket upload calls (in-process, or HTTP to an uploads instance); without it they answer 503. */
  uploads?: UploadsBackend;
  /** Dependencies that must answer for /readyz. */
  readiness: Record<string, ReadyCheck>;
}
