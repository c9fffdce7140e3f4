import type { OutboxTable } from '@wavecast/kit/outbox';
import type { Generated, Kysely, Transaction } from 'kysely';

export const CHANNELS_SCHEMA = 'channels';

export interface ChannelsTable {
  id: string;
  owner_id: string;
  name: string;
  title: string;
  category: Generated<string>;
  stream_key_hash: Buffer;
  stream_key_sealed: Buffer;
  stream_key_rotated_at: Generated<Date>;
  disabled: Generated<boolean>;
  owner_state_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface LiveSessionsTable {
  id: string;
  channel_id: string;
  ingest_node: string;
  connection_id: Generated<string>;
  client_addr: Generated<string>;
  publish_key_hash: Buffer;
  started_at: Date;
  connected_at: Date;
  ended_at: Date | null;
  publisher_connected: Generated<boolean>;
  disconnected_at: Date | null;
  resume_count: Generated<number>;
  end_reason: Generated<string>;
  recording_key: string | null;
  recording_duration_seconds: number | null;
}

export interface ChannelsDb extends OutboxTable {
  channels: ChannelsTable;
  live_sessions: LiveSessionsTable;
}

export type Executor = Kysely<ChannelsDb> | Transaction<ChannelsDb>;
