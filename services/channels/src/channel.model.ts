export interface Channel {
  id: string;
  ownerId: string;
  name: string;
  title: string;
  category: string;
  /** The owner is banned. */
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface LiveSession {
  id: string;
  channelId: string;
  ingestNode: string;
  connectionId: string;
  clientAddr: string;
  startedAt: Date;
  connectedAt: Date;
  endedAt: Date | null;
  publisherConnected: boolean;
  disconnectedAt: Date | null;
  resumeCount: number;
  endReason: string;
  recordingKey: string | null;
  recordingDurationSeconds: number | null;
}

/** A live channel's entry in the live directory (cache port), refreshed by the ingest's heartbeat. */
export interface LiveEntry {
  sessionId: string;
  channelId: string;
  name: string;
  title: string;
  category: string;
  /** ISO 8601. */
  startedAt: string;
  viewerCount: number;
  thumbnailUrl: string;
  /** Origin URL of the ingest node serving the session (internal: gateways route playback to it). */
  ingestNode: string;
}

/** A channel and, when it is live, its directory entry. */
export interface ChannelView {
  channel: Channel;
  live: LiveEntry | null;
}

export interface ChannelPatch {
  title?: string | undefined;
  category?: string | undefined;
}

export type LiveOrder = 'viewers' | 'newest';

/** Where players find a live channel (the gateway routes /live/ to the ingest origin). */
export function playbackPath(name: string): string {
  return `/live/${name}/master.m3u8`;
}
