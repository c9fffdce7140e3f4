import type { EventData } from '@wavecast/contracts/events';
import type { OutboxTable } from '@wavecast/kit/outbox';
import type { ColumnType, Generated, Kysely, Transaction } from 'kysely';
import type { FailureStage, VideoStatus, Visibility } from './video.model.ts';

export const CATALOG_SCHEMA = 'catalog';

export type Probe = EventData<'video.uploaded.v1'>['probe'];
type EncodedEvent = EventData<'video.encoded.v1'>;

/** jsonb: objects out, JSON text (or SQL NULL) in. */
type Json<T> = ColumnType<T | null, string | null, string | null>;

export interface VideosTable {
  id: string;
  owner_id: string;
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
  status: Generated<VideoStatus>;
  progress: Generated<number>;
  progress_at: Date | null;
  failure_stage: FailureStage | null;
  failure_reason: Generated<string>;
  failed_at: Date | null;
  source_key: string | null;
  // int8 comes back as a string from both adapters.
  source_size_bytes: ColumnType<string | null, number | null, number | null>;
  probe: Json<Probe>;
  uploaded_at: Date | null;
  duration_seconds: Generated<number>;
  renditions: ColumnType<EncodedEvent['renditions'], string | undefined, string>;
  hls_key: string | null;
  dash_key: string | null;
  poster_key: string | null;
  storyboard: Json<NonNullable<EncodedEvent['storyboard']>>;
  view_count: ColumnType<string, never, string>;
  republished_at: Date | null;
  republish_count: ColumnType<number, never, number>;
  created_at: Date;
  updated_at: Date;
  published_at: Date | null;
  search: ColumnType<string, never, never>;
}

export interface CatalogDb extends OutboxTable {
  videos: VideosTable;
}

export type Executor = Kysely<CatalogDb> | Transaction<CatalogDb>;
