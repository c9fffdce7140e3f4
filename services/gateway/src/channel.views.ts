import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { Channel, LiveChannel } from '@wavecast/contracts/gen/wavecast/channels/v1/channels_pb.js';
import type { LiveChannelView, PrivateChannelView, PublicChannelView } from './channel.schemas.ts';

type Timestamp = Channel['createdAt'];
const iso = (ts: Timestamp) => (ts ? timestampDate(ts).toISOString() : new Date(0).toISOString());

/** What anyone may see of a channel, with its live state. */
export function publicChannel(c: Channel): PublicChannelView {
  const live = c.live;
  return {
    id: c.id,
    owner_id: c.ownerId,
    name: c.name,
    title: c.title,
    category: c.category,
    live: live !== undefined,
    started_at: live ? iso(live.startedAt) : null,
    viewer_count: live?.viewerCount ?? 0,
    thumbnail_url: live?.thumbnailUrl || null,
    playback_url: live?.playbackUrl || null,
    created_at: iso(c.createdAt),
  };
}

/** What the owner sees: where and with what key to stream. */
export function privateChannel(c: Channel, streamKey: string, ingestUrl: string): PrivateChannelView {
  return {
    ...publicChannel(c),
    disabled: c.disabled,
    ingest_url: ingestUrl,
    stream_key: streamKey,
    session_id: c.live?.sessionId || null,
    updated_at: iso(c.updatedAt),
  };
}

export function liveChannel(c: LiveChannel): LiveChannelView {
  return {
    name: c.name,
    title: c.title,
    category: c.category,
    started_at: iso(c.live?.startedAt),
    viewer_count: c.live?.viewerCount ?? 0,
    thumbnail_url: c.live?.thumbnailUrl || null,
    playback_url: c.live?.playbackUrl ?? `/live/${c.name}/master.m3u8`,
  };
}
