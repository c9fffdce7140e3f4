/**
 * A world for the uploads service: real storage (a directory or s3rver), the
 * in-process bus with every video.* event recorded, a token issuer whose
 * keys the service's TokenVerifier trusts, and a contract-level fake of the
 * catalog (AuthorizeUpload only, served by ConnectRPC handlers in memory).
 * Uploads instances start and stop in it, so a test can restart one.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, createRouterTransport } from '@connectrpc/connect';
import { eventSchemas } from '@wavecast/contracts/events';
import { CatalogService } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import { type Bus, type Envelope, openBus } from '@wavecast/kit/bus';
import { openCache } from '@wavecast/kit/cache';
import { loadConfig } from '@wavecast/kit/config';
import { typedEvents } from '@wavecast/kit/events';
import { newId } from '@wavecast/kit/ids';
import { createLogger } from '@wavecast/kit/log';
import { openStorage, type Storage } from '@wavecast/kit/storage';
import { TOKEN_AUDIENCE, TOKEN_ISSUER, TokenVerifier } from '@wavecast/kit/tokens';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { createUploads, type Uploads, uploadsConfigSpec } from '../../src/index.ts';

export interface Video {
  id: string;
  ownerId: string;
  /** DRAFT or failed upload: AuthorizeUpload allows it. */
  awaiting: boolean;
}

export interface Instance {
  uploads: Uploads;
  port: number;
  /** The tus endpoint, http://127.0.0.1:<port>/v1/uploads. */
  endpoint: string;
  /** Closes the server (cutting open connections) and stops the service. */
  stop(): Promise<void>;
}

export interface World {
  storage: Storage;
  storageUrl: string;
  videos: Map<string, Video>;
  events: Envelope[];
  /** The events about one video, by type. */
  eventsOf(videoId: string): { type: string; data: any }[];
  /** A new user and an access token for them. */
  user(): Promise<{ id: string; token: string }>;
  /** A video of `ownerId` that awaits its file. */
  video(ownerId: string, awaiting?: boolean): string;
  sourceKey(videoId: string): string;
  authorizeCalls: number;
  start(config?: Record<string, string>): Promise<Instance>;
  close(): Promise<void>;
}

export async function openWorld(storageUrl: string): Promise<World> {
  const storage = await openStorage(storageUrl);
  const bus: Bus = await openBus('memory:');
  const cache = await openCache('memory:');
  const logger = createLogger({ service: 'uploads', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const kid = 'test-key';
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  const videos = new Map<string, Video>();
  const events: Envelope[] = [];
  const record = async (_data: unknown, envelope: Envelope) => {
    events.push(envelope);
  };
  const subscription = await typedEvents(bus, eventSchemas).subscribe('test.videos', {
    'video.uploaded.v1': record,
    'video.failed.v1': record,
  });
  const sourceKey = (videoId: string) => `uploads/${videoId}/source`;
  const world: World = {
    storage,
    storageUrl,
    videos,
    events,
    authorizeCalls: 0,
    eventsOf: (videoId) =>
      events
        .filter((e) => (e.data as { video_id: string }).video_id === videoId)
        .map((e) => ({ type: e.type, data: e.data })),
    async user() {
      const id = newId('usr');
      return { id, token: await sign(privateKey, kid, id) };
    },
    video(ownerId, awaiting = true) {
      const id = newId('vid');
      videos.set(id, { id, ownerId, awaiting });
      return id;
    },
    sourceKey,
    async start(env = {}) {
      // The catalog's AuthorizeUpload as its contract describes it.
      const catalog = createRouterTransport((router) => {
        router.service(CatalogService, {
          authorizeUpload(req) {
            world.authorizeCalls++;
            const video = videos.get(req.videoId);
            if (!video) throw new ConnectError('video not found', Code.NotFound);
            if (video.ownerId !== req.actorId)
              throw new ConnectError('not your video', Code.PermissionDenied);
            if (!video.awaiting) throw new ConnectError('the video is PROCESSING', Code.FailedPrecondition);
            return { sourceKey: sourceKey(req.videoId) };
          },
        });
      });
      const uploads = await createUploads({
        config: loadConfig(uploadsConfigSpec, env),
        storage,
        storageUrl,
        bus,
        catalog,
        verifier: new TokenVerifier({ fetchJwks: async () => ({ keys: [jwk] }), cache }),
        logger,
      });
      const server = http.createServer((req, res) => {
        if (uploads.handle(req, res) || uploads.handleDirect(req, res)) return;
        res.writeHead(404).end();
      });
      server.requestTimeout = 0;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      return {
        uploads,
        port,
        endpoint: `http://127.0.0.1:${port}/v1/uploads`,
        async stop() {
          const closed = new Promise((resolve) => server.close(resolve));
          server.closeAllConnections();
          await uploads.stop();
          await closed;
        },
      };
    },
    async close() {
      await subscription.close();
      await bus.close();
      await cache.close();
      await storage.close();
    },
  };
  return world;
}

function sign(key: CryptoKey, kid: string, sub: string): Promise<string> {
  return new SignJWT({ sid: newId('ses'), role: 'user', name: 'ada' })
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('15m')
    .sign(key);
}
