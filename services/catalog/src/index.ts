import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bus, Subscription } from '@wavecast/kit/bus';
import type { Cache } from '@wavecast/kit/cache';
import type { ConfigOf } from '@wavecast/kit/config';
import type { Database } from '@wavecast/kit/db';
import type { Logger } from '@wavecast/kit/log';
import { migrateOutbox, startOutboxRelay } from '@wavecast/kit/outbox';
import type { ServiceInstance } from '@wavecast/kit/service';
import { CloudFrontSigner } from './cloudfront.ts';
import { type CdnSettings, type catalogConfigSpec, cloudFrontSigningFrom } from './config.ts';
import { subscribeCatalogEvents } from './jobs.ts';
import { PipelineRepository } from './pipeline.repository.ts';
import { VideoPipeline } from './pipeline.ts';
import { PlaybackSigner } from './playback.ts';
import { Reconciler } from './reconciler.ts';
import { catalogRoutes } from './rpc/routes.ts';
import { CATALOG_SCHEMA } from './tables.ts';
import { VideoRepository } from './video.repository.ts';
import { VideoService } from './video.service.ts';

export type { CloudFrontSigning } from './cloudfront.ts';
export { catalogConfigSpec, cloudFrontSigningFrom, standaloneCatalogConfigSpec } from './config.ts';
export type { VideoPipeline } from './pipeline.ts';
export type { Reconciler } from './reconciler.ts';
export type { VideoService } from './video.service.ts';

const migrations = fileURLToPath(new URL('./migrations/', import.meta.url));

export async function migrateCatalog(db: Database): Promise<string[]> {
  const applied = await db.migrate(CATALOG_SCHEMA, migrations);
  await migrateOutbox(db, CATALOG_SCHEMA);
  return applied;
}

/** Where the all-in-one process keeps its generated playback secret. */
export function playbackSecretPath(dataDir: string): string {
  return path.join(dataDir, 'secrets', 'playback.secret');
}

export interface CatalogDeps {
  db: Database;
  cache: Cache;
  bus: Bus;
  logger: Logger;
  config: Omit<ConfigOf<typeof catalogConfigSpec>, 'playbackSecret' | keyof CdnSettings> & CdnSettings;
  /** 32 bytes; the gateways verify playback URLs with the same secret. */
  playbackSecret: Buffer;
  /** The clock (tests move it). */
  now?: () => Date;
  /** Whether to reconcile on a timer (default true; tests call reconcile() themselves). */
  reconcileTimer?: boolean;
}

export type CatalogInstance = ServiceInstance & {
  videos: VideoService;
  pipeline: VideoPipeline;
  reconciler: Reconciler;
};

/** Wires the catalog: repository -> services -> RPC routes, its outbox relay, events and reconciler. */
export async function createCatalog(deps: CatalogDeps): Promise<CatalogInstance> {
  // Refuses half a CloudFront configuration before anything starts.
  const cloudFront = cloudFrontSigningFrom(deps.config);
  const repo = new VideoRepository(deps.db);
  const transitions = new PipelineRepository(deps.db);
  const now = deps.now ?? (() => new Date());
  const relay = startOutboxRelay({ db: repo.db, bus: deps.bus, logger: deps.logger });
  const videos = new VideoService({
    videos: repo,
    cache: deps.cache,
    signer: new PlaybackSigner(
      deps.playbackSecret,
      deps.config.playbackTtlSeconds,
      cloudFront && new CloudFrontSigner(cloudFront),
    ),
    logger: deps.logger,
    viewWindowSeconds: deps.config.viewWindowSeconds,
    now,
    onEvents: relay.kick,
  });
  const pipeline = new VideoPipeline({ transitions, videos: repo, logger: deps.logger, now });
  const reconciler = new Reconciler({
    transitions,
    logger: deps.logger,
    now,
    intervalMs: Math.max(1, deps.config.reconcileIntervalSeconds) * 1000,
    stuckAfterMs: deps.config.stuckAfterSeconds * 1000,
    onEvents: relay.kick,
  });
  let subscription: Subscription;
  try {
    subscription = await subscribeCatalogEvents(deps.bus, pipeline);
  } catch (err) {
    await relay.stop();
    throw err;
  }
  // An interval of 0 turns the reconciler off.
  const timer = deps.reconcileTimer !== false && deps.config.reconcileIntervalSeconds > 0;
  const stopReconciling = timer ? reconciler.start() : () => {};
  return {
    name: 'catalog',
    videos,
    pipeline,
    reconciler,
    routes: catalogRoutes(videos),
    ready: async () => {
      await Promise.all([deps.db.ping(), deps.cache.ping(), deps.bus.ping()]);
    },
    async stop() {
      stopReconciling();
      await subscription.close();
      await relay.stop();
    },
  };
}
