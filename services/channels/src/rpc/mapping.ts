import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  type ChannelSchema,
  type LiveChannelSchema,
  LiveOrder as LiveOrderProto,
  type LiveStateSchema,
} from '@wavecast/contracts/gen/wavecast/channels/v1/channels_pb.js';
import { AppError } from '@wavecast/kit/errors';
import { type ChannelView, type LiveEntry, type LiveOrder, playbackPath } from '../channel.model.ts';

export function liveToProto(entry: LiveEntry): MessageInitShape<typeof LiveStateSchema> {
  return {
    sessionId: entry.sessionId,
    startedAt: timestampFromDate(new Date(entry.startedAt)),
    viewerCount: entry.viewerCount,
    thumbnailUrl: entry.thumbnailUrl,
    playbackUrl: playbackPath(entry.name),
    ingestNode: entry.ingestNode ?? '',
  };
}

export function channelToProto({ channel, live }: ChannelView): MessageInitShape<typeof ChannelSchema> {
  return {
    id: channel.id,
    ownerId: channel.ownerId,
    name: channel.name,
    title: channel.title,
    category: channel.category,
    disabled: channel.disabled,
    createdAt: timestampFromDate(channel.createdAt),
    updatedAt: timestampFromDate(channel.updatedAt),
    ...(live && { live: liveToProto(live) }),
  };
}

export function liveChannelToProto(entry: LiveEntry): MessageInitShape<typeof LiveChannelSchema> {
  return {
    channelId: entry.channelId,
    name: entry.name,
    title: entry.title,
    category: entry.category,
    live: liveToProto(entry),
  };
}

export function orderFromProto(order: LiveOrderProto): LiveOrder {
  switch (order) {
    case LiveOrderProto.UNSPECIFIED:
    case LiveOrderProto.VIEWERS:
      return 'viewers';
    case LiveOrderProto.NEWEST:
      return 'newest';
    default:
      throw new AppError('invalid_argument', `unknown order ${order satisfies never}`, {
        fields: [{ field: 'order', message: 'is not a known order' }],
      });
  }
}
