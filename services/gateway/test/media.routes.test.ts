/**
 * /media/ on a gateway built in-process against a stub catalog: the
 * `s3-presigned` mode on s3rver (manifests streamed, everything else
 * redirected to a presigned URL that outlives neither its setting nor the
 * signed path), one catalog lookup for many segments, and refusing a mode
 * the storage cannot do.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@connectrpc/connect';
import { AuthService } from '@wavecast/contracts/gen/wavecast/auth/v1/auth_pb.js';
import {
  CatalogService,
  VideoStatus,
  Visibility,
} from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import { ChannelsService } from '@wavecast/contracts/gen/wavecast/channels/v1/channels_pb.js';
import { UsersService } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import { type Cache, openCache } from '@wavecast/kit/cache';
import { loadConfig } from '@wavecast/kit/config';
import { AppError } from '@wavecast/kit/errors';
import { createLogger } from '@wavecast/kit/log';
import { createMetrics } from '@wavecast/kit/metrics';
import { inProcessTransport, serverInterceptors } from '@wavecast/kit/rpc';
import { openStorage, type Storage } from '@wavecast/kit/storage';
import { TokenVerifier } from '@wavecast/kit/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3Fixture, startS3 } from '../../../packages/kit/test/support/s3.ts';
import { playbackKey, playbackToken } from '../../catalog/src/playback.ts';
import { buildGateway } from '../src/app.ts';
import { gatewayConfigSpec } from '../src/config.ts';
import { ListingCache } from '../src/listing-cache.ts';
import { PublicVideos } from '../src/media/public-videos.ts';
import { ProfileCache } from '../src/profile-cache.ts';
import type { TypedApp } from '../src/typed.ts';

const publicId = 'vid_01ARZ3NDEKTSV4RRFFQ69G5FAV';
const privateId = 'vid_01ARZ3NDEKTSV4RRFFQ69G5FAW';
const logger = createLogger({ service: 'test', level: 'silent' });
const metrics = createMetrics({ defaultMetrics: false });

/** A catalog that knows one public READY video, and counts the lookups. */
function stubCatalog() {
  const calls: string[] = [];
  const transport = inProcessTransport(
    (router) =>
      router.service(CatalogService, {
        async getVideo(req) {
          calls.push(req.videoId);
          if (req.videoId !== publicId) throw new AppError('not_found', 'video not found');
          return { video: { id: publicId, visibility: Visibility.PUBLIC, status: VideoStatus.READY } };
        },
      }),
    serverInterceptors({ service: 'catalog', logger, metrics }),
    { caller: 'test', logger, metrics, retries: 0 },
  );
  return { client: createClient(CatalogService, transport), calls };
}

async function gateway(env: Record<string, string>, storage: Storage, cache: Cache) {
  const nowhere = inProcessTransport(() => {}, [], { caller: 'test', logger, metrics });
  const catalog = stubCatalog();
  const app = await buildGateway({
    config: loadConfig(gatewayConfigSpec, env),
    logger,
    metrics,
    cache,
    users: createClient(UsersService, nowhere),
    auth: createClient(AuthService, nowhere),
    channels: createClient(ChannelsService, nowhere),
    catalog: catalog.client,
    verifier: new TokenVerifier({ fetchJwks: async () => ({ keys: [] }), cache }),
    profiles: new ProfileCache(cache, 0),
    listings: new ListingCache(cache, 0),
    live: { handle: async () => undefined },
    storage,
    publicVideos: new PublicVideos(catalog.client),
    readiness: {},
  });
  return { app, calls: catalog.calls };
}

describe('media delivery with presigned S3 URLs', () => {
  let s3: S3Fixture;
  let storage: Storage;
  let cache: Cache;
  let app: TypedApp;
  let calls: string[];
  const secret = randomBytes(32);
  const segment = randomBytes(5000);

  beforeAll(async () => {
    s3 = await startS3();
    storage = await openStorage(s3.url);
    cache = await openCache('memory:');
    for (const id of [publicId, privateId]) {
      await storage.put(`videos/${id}/master.m3u8`, '#EXTM3U\n360p/index.m3u8\n');
      await storage.put(`videos/${id}/360p/seg_1.m4s`, segment);
    }
    ({ app, calls } = await gateway(
      {
        PLAYBACK_MODE: 's3-presigned',
        PLAYBACK_PRESIGN_SECONDS: '300',
        CATALOG_PLAYBACK_SECRET: secret.toString('base64'),
      },
      storage,
      cache,
    ));
  });
  afterAll(async () => {
    await app?.close();
    await cache?.close();
    await storage?.close();
    await s3?.close();
  });

  it('streams manifests and redirects segments to a presigned URL', async () => {
    const manifest = await app.inject({ url: `/media/videos/${publicId}/master.m3u8` });
    expect(manifest.statusCode).toBe(200);
    expect(manifest.body).toBe('#EXTM3U\n360p/index.m3u8\n');
    expect(manifest.headers['content-type']).toBe('application/vnd.apple.mpegurl');

    const seg = await app.inject({ url: `/media/videos/${publicId}/360p/seg_1.m4s` });
    expect(seg.statusCode).toBe(302);
    expect(seg.headers['cache-control']).toBe('no-store');
    expect(seg.headers['access-control-allow-origin']).toBe('*');
    expect(seg.headers['cross-origin-resource-policy']).toBe('cross-origin');
    const location = new URL(String(seg.headers.location));
    expect(location.origin).toBe(s3.endpoint);
    expect(location.searchParams.get('X-Amz-Expires')).toBe('300');
    const fetched = await fetch(location);
    expect(Buffer.from(await fetched.arrayBuffer())).toEqual(segment);
    // A player starting up asks for many objects: one catalog lookup serves them all.
    expect(calls.filter((id) => id === publicId)).toHaveLength(1);
  });

  it('checks access before redirecting, and never presigns beyond the signed path’s expiry', async () => {
    expect((await app.inject({ url: `/media/videos/${privateId}/360p/seg_1.m4s` })).statusCode).toBe(404);
    const exp = Math.floor(Date.now() / 1000) + 30;
    const token = playbackToken(playbackKey(secret), privateId, exp);
    const seg = await app.inject({ url: `/media/t/${token}/videos/${privateId}/360p/seg_1.m4s` });
    expect(seg.statusCode).toBe(302);
    const expires = Number(new URL(String(seg.headers.location)).searchParams.get('X-Amz-Expires'));
    expect(expires).toBeGreaterThan(25);
    expect(expires).toBeLessThanOrEqual(30);
    const other = await app.inject({ url: `/media/t/${token}/videos/${publicId}/360p/seg_1.m4s` });
    expect(other.statusCode).toBe(403);
  });

  it('refuses to start in presigned mode on storage that cannot presign', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wavecast-media-'));
    const local = await openStorage(`file:${dir}`);
    await expect(gateway({ PLAYBACK_MODE: 's3-presigned' }, local, cache)).rejects.toThrow(
      /needs S3 storage/,
    );
    // Without a playback secret, signed paths cannot be checked: 503, never a pass.
    const { app: plain } = await gateway({}, local, cache);
    const token = playbackToken(playbackKey(secret), privateId, Math.floor(Date.now() / 1000) + 60);
    const res = await plain.inject({ url: `/media/t/${token}/videos/${privateId}/master.m3u8` });
    expect(res.statusCode).toBe(503);
    await plain.close();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  });
});
