import type { Transport } from '@connectrpc/connect';
import { createClient } from '@connectrpc/connect';
import { eventSchemas } from '@wavecast/contracts/events';
import { ChannelsService } from '@wavecast/contracts/gen/wavecast/channels/v1/channels_pb.js';
import type { Bus, Subscription } from '@wavecast/kit/bus';
import type { ConfigOf } from '@wavecast/kit/config';
import { typedEvents } from '@wavecast/kit/events';
import type { Logger } from '@wavecast/kit/log';
import type { Storage } from '@wavecast/kit/storage';
import type { ingestConfigSpec } from './config.ts';
import { createLiveHttp, type LiveHttp } from './http.ts';
import { IngestService } from './ingest.service.ts';
import { type RtmpServer, startRtmpServer } from './rtmp/server.ts';
import { parseLadder } from './transcode/ladder.ts';

export { ingestConfigSpec } from './config.ts';
export type { LiveHttp, Viewer } from './http.ts';
export { IngestService } from './ingest.service.ts';

export interface IngestDeps {
  config: ConfigOf<typeof ingestConfigSpec>;
  channels: Transport;
  storage: Storage;
  bus: Bus;
  logger: Logger;
}

export interface Ingest {
  service: IngestService;
  http: LiveHttp;
  rtmpPort: number;
  ready(): Promise<void>;
  stop(): Promise<void>;
}

/** Node ids become bus queue names: keep the characters queues accept. */
const queueSafe = (s: string) => s.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 150);

/** Wires the ingest node: RTMP in, transcoding and LL-HLS packaging, the origin, and kicks from channels. */
export async function createIngest(deps: IngestDeps): Promise<Ingest> {
  const { config } = deps;
  const service = new IngestService({
    channels: createClient(ChannelsService, deps.channels),
    storage: deps.storage,
    logger: deps.logger,
    nodeId: config.originUrl,
    reconnectGraceSeconds: config.publisherGraceSeconds,
    settings: {
      ffmpegPath: config.ffmpegPath,
      ladder: parseLadder(config.ladder),
      passthroughOnly: config.passthroughOnly,
      segmentSeconds: config.segmentSeconds,
      partMs: config.partMs,
      dvrSeconds: config.dvrSeconds,
      preset: config.x264Preset,
      record: config.record,
      thumbnailSeconds: config.thumbnailSeconds,
    },
  });
  // Every node hears every kick (its own queue) and acts on the sessions it holds.
  const kicks: Subscription = await typedEvents(deps.bus, eventSchemas).subscribe(
    `ingest.kicks.${queueSafe(config.originUrl)}`,
    { 'stream.kick.v1': (e) => service.kick(e.session_id, e.reason) },
  );
  let rtmp: RtmpServer;
  try {
    rtmp = await startRtmpServer({
      host: config.rtmpHost,
      port: config.rtmpPort,
      logger: deps.logger,
      authorize: service.authorize,
      onPublish: service.onPublish,
      idleTimeoutMs: config.idleTimeoutSeconds * 1000,
    });
  } catch (err) {
    await kicks.close();
    await service.stop();
    throw err;
  }
  return {
    service,
    http: createLiveHttp(service),
    rtmpPort: rtmp.port,
    ready: async () => {
      await Promise.all([deps.storage.ping(), deps.bus.ping()]);
    },
    async stop() {
      // Sessions end first (recordings finished, channels told), then the sockets close.
      await kicks.close();
      await service.stop();
      await rtmp.close();
    },
  };
}
