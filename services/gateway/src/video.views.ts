import { timestampDate } from '@bufbuild/protobuf/wkt';
import {
  type Video,
  VideoStatus,
  Visibility,
} from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import type { VideoView, VisibilityName } from './video.schemas.ts';

type Timestamp = Video['createdAt'];
const iso = (ts: Timestamp) => (ts ? timestampDate(ts).toISOString() : new Date(0).toISOString());

const statusNames: Record<VideoStatus, VideoView['status']> = {
  [VideoStatus.UNSPECIFIED]: 'draft',
  [VideoStatus.DRAFT]: 'draft',
  [VideoStatus.UPLOADED]: 'uploaded',
  [VideoStatus.PROCESSING]: 'processing',
  [VideoStatus.READY]: 'ready',
  [VideoStatus.FAILED]: 'failed',
};

const visibilityNames: Record<Visibility, VisibilityName> = {
  [Visibility.UNSPECIFIED]: 'public',
  [Visibility.PUBLIC]: 'public',
  [Visibility.UNLISTED]: 'unlisted',
  [Visibility.PRIVATE]: 'private',
};

export const visibilities: Record<VisibilityName, Visibility> = {
  public: Visibility.PUBLIC,
  unlisted: Visibility.UNLISTED,
  private: Visibility.PRIVATE,
};

export function videoView(v: Video): VideoView {
  const p = v.playback;
  const sb = p?.storyboard;
  return {
    id: v.id,
    owner_id: v.ownerId,
    title: v.title,
    description: v.description,
    tags: v.tags,
    visibility: visibilityNames[v.visibility],
    status: statusNames[v.status],
    progress: v.progress,
    failure_reason: v.status === VideoStatus.FAILED ? v.failureReason : null,
    duration_seconds: v.durationSeconds,
    renditions: v.renditions.map((r) => ({
      name: r.name,
      width: r.width,
      height: r.height,
      bandwidth: r.bandwidth,
      codecs: r.codecs,
    })),
    view_count: Number(v.viewCount),
    thumbnail_url: p?.posterUrl || null,
    playback: p
      ? {
          hls_url: p.hlsUrl,
          dash_url: p.dashUrl,
          poster_url: p.posterUrl || null,
          storyboard: sb
            ? {
                url: sb.url,
                columns: sb.columns,
                rows: sb.rows,
                tile_width: sb.tileWidth,
                tile_height: sb.tileHeight,
                interval_seconds: sb.intervalSeconds,
              }
            : null,
          expires_at: p.expiresAt ? iso(p.expiresAt) : null,
        }
      : null,
    created_at: iso(v.createdAt),
    updated_at: iso(v.updatedAt),
    published_at: v.publishedAt ? iso(v.publishedAt) : null,
  };
}
