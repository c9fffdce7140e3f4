/** How a videos row maps to the domain; shared by the repositories. */
import type { Selectable } from 'kysely';
import type { Probe, VideosTable } from './tables.ts';
import type { Outputs, Video } from './video.model.ts';

export type Row = Omit<Selectable<VideosTable>, 'search'>;

/** Every column but the search vector. */
export const columns = [
  'id',
  'owner_id',
  'title',
  'description',
  'tags',
  'visibility',
  'status',
  'progress',
  'progress_at',
  'failure_stage',
  'failure_reason',
  'failed_at',
  'source_key',
  'source_size_bytes',
  'probe',
  'uploaded_at',
  'duration_seconds',
  'renditions',
  'hls_key',
  'dash_key',
  'poster_key',
  'storyboard',
  'view_count',
  'republished_at',
  'republish_count',
  'created_at',
  'updated_at',
  'published_at',
] as const satisfies readonly (keyof Row)[];

/** The source as video.uploaded.v1 described it, kept to publish it again. */
export interface Source {
  key: string;
  sizeBytes: number;
  probe: Probe;
  uploadedAt: Date;
}

/** A video with what only the pipeline needs. */
export interface StoredVideo extends Video {
  source: Source | null;
  failedAt: Date | null;
}

/** A row as the services see it. */
export function toVideo(row: Row): StoredVideo {
  const sb = row.storyboard;
  const outputs: Outputs | null =
    row.hls_key && row.dash_key
      ? {
          hlsKey: row.hls_key,
          dashKey: row.dash_key,
          posterKey: row.poster_key,
          storyboard: sb && {
            key: sb.key,
            columns: sb.columns,
            rows: sb.rows,
            tileWidth: sb.tile_width,
            tileHeight: sb.tile_height,
            intervalSeconds: sb.interval_seconds,
          },
        }
      : null;
  const source: Source | null =
    row.source_key && row.probe && row.uploaded_at
      ? {
          key: row.source_key,
          sizeBytes: Number(row.source_size_bytes ?? 0),
          probe: row.probe,
          uploadedAt: row.uploaded_at,
        }
      : null;
  return {
    id: row.id,
    ownerId: row.owner_id,
    title: row.title,
    description: row.description,
    tags: row.tags,
    visibility: row.visibility,
    status: row.status,
    progress: row.progress,
    failureStage: row.failure_stage,
    failureReason: row.failure_reason,
    durationSeconds: row.duration_seconds,
    renditions: row.renditions,
    outputs,
    viewCount: Number(row.view_count),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    publishedAt: row.published_at,
    source,
    failedAt: row.failed_at,
  };
}

/** The columns that record a source. */
export function sourceColumns(source: Source) {
  return {
    source_key: source.key,
    source_size_bytes: source.sizeBytes,
    probe: JSON.stringify(source.probe),
    uploaded_at: source.uploadedAt,
  };
}
