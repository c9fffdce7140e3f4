/**
 * Test harness for the catalog service: the real service on a chosen backend
 * (PGlite + memory adapters, or PostgreSQL + Redis), a ConnectRPC client
 * through the same interceptors as production, a movable clock, the video.*
 * events it published, and builders for the events the pipeline sends.
 */
import { randomBytes } from 'node:crypto';
import { type Client, createClient } from '@connectrpc/connect';
import { type EventData, eventSchemas } from '@wavecast/contracts/events';
import { CatalogService, Visibility } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import { type Bus, type Envelope, openBus } from '@wavecast/kit/bus';
import type { Cache } from '@wavecast/kit/cache';
import type { Database } from '@wavecast/kit/db';
import { typedEvents } from '@wavecast/kit/events';
import { newId } from '@wavecast/kit/ids';
import { createLogger } from '@wavecast/kit/log';
import { createMetrics } from '@wavecast/kit/metrics';
import { inProcessTransport, serverInterceptors } from '@wavecast/kit/rpc';
import { type Backend, serviceBackends } from '../../../../packages/kit/test/support/backends.ts';
import { type CatalogInstance, createCatalog, migrateCatalog } from '../../src/index.ts';

export type { Backend } from '../../../../packages/kit/test/support/backends.ts';

export const backends: Backend[] = serviceBackends('catalog');

export interface Harness {
  client: Client<typeof CatalogService>;
  instance: CatalogInstance;
  db: Database;
  cache: Cache;
  bus: Bus;
  secret: Buffer;
  /** Moves the service's clock forward. */
  advance(ms: number): void;
  now(): Date;
  /** video.deleted.v1 and video.uploaded.v1 as the catalog published them. */
  published: Envelope[];
  publishedOf(type: 'video.deleted.v1' | 'video.uploaded.v1'): any[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  playbackTtlSeconds?: number;
  viewWindowSeconds?: number;
  reconcileIntervalSeconds?: number;
  stuckAfterSeconds?: number;
  /** Receives every log line of the service (at trace level) instead of silence. */
  logLines?: string[];
}

export async function openHarness(backend: Backend, opts: HarnessOptions = {}): Promise<Harness> {
  const { db, cache, cleanup } = await backend.open();
  const bus = await openBus('memory:');
  const lines = opts.logLines;
  const logger = lines
    ? createLogger({ service: 'catalog', level: 'trace', destination: { write: (l) => void lines.push(l) } })
    : createLogger({ service: 'catalog', level: 'silent' });
  const metrics = createMetrics({ defaultMetrics: false });
  let offset = 0;
  const now = () => new Date(Date.now() + offset);
  const secret = randomBytes(32);
  await migrateCatalog(db);
  const instance = await createCatalog({
    db,
    cache,
    bus,
    logger,
    config: {
      playbackTtlSeconds: opts.playbackTtlSeconds ?? 3600,
      viewWindowSeconds: opts.viewWindowSeconds ?? 6 * 3600,
      reconcileIntervalSeconds: opts.reconcileIntervalSeconds ?? 60,
      stuckAfterSeconds: opts.stuckAfterSeconds ?? 600,
    },
    playbackSecret: secret,
    now,
    reconcileTimer: false,
  });
  const published: Envelope[] = [];
  const record = async (_data: unknown, envelope: Envelope) => {
    published.push(envelope);
  };
  const subscription = await typedEvents(bus, eventSchemas).subscribe('test.videos', {
    'video.deleted.v1': record,
    'video.uploaded.v1': record,
  });
  const transport = inProcessTransport(
    instance.routes,
    serverInterceptors({ service: 'catalog', logger, metrics }),
    { caller: 'test', logger, metrics, retries: 0 },
  );
  return {
    client: createClient(CatalogService, transport),
    instance,
    db,
    cache,
    bus,
    secret,
    advance(ms) {
      offset += ms;
    },
    now,
    published,
    publishedOf: (type) => published.filter((e) => e.type === type).map((e) => e.data),
    async close() {
      await subscription.close();
      await instance.stop();
      await bus.close();
      await cache.close();
      await db.close();
      await cleanup();
    },
  };
}

/** A usr_ id for a new owner. */
export const newOwner = () => newId('usr');

/** Creates a video through the RPC API (public unless said otherwise). */
export async function createVideo(
  h: Harness,
  ownerId: string,
  fields: { title?: string; description?: string; tags?: string[]; visibility?: Visibility } = {},
) {
  const { video } = await h.client.createVideo({
    ownerId,
    title: fields.title ?? 'A video',
    description: fields.description ?? '',
    tags: fields.tags ?? [],
    visibility: fields.visibility ?? Visibility.PUBLIC,
  });
  return video!;
}

export function uploaded(videoId: string, ownerId: string, at = new Date()): EventData<'video.uploaded.v1'> {
  return {
    video_id: videoId,
    owner_id: ownerId,
    source_key: `uploads/${videoId}/source`,
    size_bytes: 123_456,
    probe: {
      duration_seconds: 12.5,
      width: 1280,
      height: 720,
      video_codec: 'h264',
      audio_codec: 'aac',
      frame_rate: 30,
    },
    uploaded_at: at.toISOString(),
  };
}

export function progress(videoId: string, percent: number, at = new Date(), attempt = 1) {
  return {
    video_id: videoId,
    percent,
    attempt,
    at: at.toISOString(),
  } satisfies EventData<'video.progress.v1'>;
}

export function encoded(videoId: string, at = new Date()): EventData<'video.encoded.v1'> {
  return {
    video_id: videoId,
    duration_seconds: 12.48,
    hls_key: `videos/${videoId}/master.m3u8`,
    dash_key: `videos/${videoId}/manifest.mpd`,
    poster_key: `videos/${videoId}/poster.jpg`,
    storyboard: {
      key: `videos/${videoId}/storyboard.jpg`,
      columns: 5,
      rows: 5,
      tile_width: 160,
      tile_height: 90,
      interval_seconds: 2,
    },
    renditions: [
      { name: '720p', width: 1280, height: 720, bandwidth: 2_800_000, codecs: 'avc1.64001f,mp4a.40.2' },
      { name: '360p', width: 640, height: 360, bandwidth: 800_000, codecs: 'avc1.64001e,mp4a.40.2' },
    ],
    encoded_at: at.toISOString(),
  };
}

export function failed(videoId: string, stage: 'upload' | 'encode', reason: string, at = new Date()) {
  return {
    video_id: videoId,
    stage,
    reason,
    failed_at: at.toISOString(),
  } satisfies EventData<'video.failed.v1'>;
}

/** Drives a video to READY as the pipeline would. */
export async function makeReady(h: Harness, videoId: string, ownerId: string): Promise<void> {
  await h.instance.pipeline.onUploaded(uploaded(videoId, ownerId));
  await h.instance.pipeline.onEncoded(encoded(videoId));
}
