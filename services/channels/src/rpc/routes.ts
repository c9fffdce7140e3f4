import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';
import { ChannelsService } from '@wavecast/contracts/gen/wavecast/channels/v1/channels_pb.js';
import type { ChannelService } from '../channel.service.ts';
import type { SessionService } from '../session.service.ts';
import { channelToProto, liveChannelToProto, orderFromProto } from './mapping.ts';

/** gRPC handlers: map proto <-> domain, nothing else. */
export function channelsRoutes(channels: ChannelService, sessions: SessionService) {
  return (router: ConnectRouter) =>
    router.service(ChannelsService, {
      async getOwnChannel(req) {
        const own = await channels.getOwn(req.ownerId, req.username);
        return { channel: channelToProto(own), streamKey: own.streamKey };
      },
      async updateChannel(req) {
        const view = await channels.update(req.ownerId, { title: req.title, category: req.category });
        return { channel: channelToProto(view) };
      },
      async rotateStreamKey(req) {
        const own = await channels.rotateStreamKey(req.ownerId);
        return { channel: channelToProto(own), streamKey: own.streamKey };
      },
      async getChannel(req) {
        return { channel: channelToProto(await channels.getByName(req.name)) };
      },
      async listLive(req) {
        const page = await channels.listLive({
          order: orderFromProto(req.order),
          pageSize: req.pageSize,
          pageToken: req.pageToken,
        });
        return { channels: page.entries.map(liveChannelToProto), nextPageToken: page.nextPageToken };
      },
      async authorizePublish(req) {
        const { channel, session, resumed } = await sessions.authorize({
          streamKey: req.streamKey,
          ingestNode: req.ingestNode,
          clientAddr: req.clientAddr,
          connectionId: req.connectionId,
          reconnectGraceSeconds: req.reconnectGraceSeconds,
        });
        return {
          channel: channelToProto({ channel, live: null }),
          sessionId: session.id,
          resumed,
          startedAt: timestampFromDate(session.startedAt),
        };
      },
      async publisherDisconnected(req) {
        const { ended } = await sessions.publisherDisconnected(req);
        return { ended, reconnectGraceSeconds: sessions.reconnectGraceSeconds };
      },
      async endSession(req) {
        const { session, alreadyEnded } = await sessions.end({
          ...(req.session.case === 'sessionId' && { sessionId: req.session.value }),
          ...(req.session.case === 'streamKey' && { streamKey: req.session.value }),
          reason: req.reason,
          recordingKey: req.recordingKey,
          recordingDurationSeconds: req.recordingDurationSeconds,
          ingestNode: req.ingestNode,
          connectionId: req.connectionId,
        });
        const endedAt = session.endedAt ?? new Date();
        return {
          sessionId: session.id,
          endedAt: timestampFromDate(endedAt),
          durationSeconds: Math.max(0, (endedAt.getTime() - session.startedAt.getTime()) / 1000),
          alreadyEnded,
        };
      },
      async updateLiveStats(req) {
        await sessions.updateStats(req);
        return {};
      },
    });
}
