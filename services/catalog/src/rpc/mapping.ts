import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  type PlaybackSchema,
  Sort,
  VideoStatus as StatusProto,
  type VideoSchema,
  Visibility as VisibilityProto,
} from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import { AppError } from '@wavecast/kit/errors';
import type { ListOrder, Playback, VideoStatus, VideoView, Visibility } from '../video.model.ts';

const statuses: Record<VideoStatus, StatusProto> = {
  draft: StatusProto.DRAFT,
  uploaded: StatusProto.UPLOADED,
  processing: StatusProto.PROCESSING,
  ready: StatusProto.READY,
  failed: StatusProto.FAILED,
};

const visibilityProtos: Record<Visibility, VisibilityProto> = {
  public: VisibilityProto.PUBLIC,
  unlisted: VisibilityProto.UNLISTED,
  private: VisibilityProto.PRIVATE,
};

function playbackToProto(p: Playback): MessageInitShape<typeof PlaybackSchema> {
  return {
    hlsUrl: p.hlsUrl,
    dashUrl: p.dashUrl,
    posterUrl: p.posterUrl,
    storyboardUrl: p.storyboard?.url ?? '',
    ...(p.expiresAt && { expiresAt: timestampFromDate(p.expiresAt) }),
    ...(p.storyboard && { storyboard: p.storyboard }),
  };
}

export function videoToProto({ video, playback }: VideoView): MessageInitShape<typeof VideoSchema> {
  return {
    id: video.id,
    ownerId: video.ownerId,
    title: video.title,
    description: video.description,
    tags: video.tags,
    visibility: visibilityProtos[video.visibility],
    status: statuses[video.status],
    progress: video.progress,
    failureReason: video.failureReason,
    durationSeconds: video.durationSeconds,
    renditions: video.renditions,
    viewCount: BigInt(video.viewCount),
    ...(playback && { playback: playbackToProto(playback) }),
    createdAt: timestampFromDate(video.createdAt),
    updatedAt: timestampFromDate(video.updatedAt),
    ...(video.publishedAt && { publishedAt: timestampFromDate(video.publishedAt) }),
  };
}

const unknownEnum = (field: string) =>
  new AppError('invalid_argument', `${field} is not a known value`, {
    fields: [{ field, message: 'is not a known value' }],
  });

/** UNSPECIFIED means "public" when creating and "unchanged" when updating: callers decide. */
export function visibilityFromProto(value: VisibilityProto): Visibility | undefined {
  switch (value) {
    case VisibilityProto.UNSPECIFIED:
      return undefined;
    case VisibilityProto.PUBLIC:
      return 'public';
    case VisibilityProto.UNLISTED:
      return 'unlisted';
    case VisibilityProto.PRIVATE:
      return 'private';
    default:
      throw unknownEnum('visibility');
  }
}

/** UNSPECIFIED: newest first, or best matches first with a query. */
export function orderFromProto(sort: Sort): ListOrder | undefined {
  switch (sort) {
    case Sort.UNSPECIFIED:
      return undefined;
    case Sort.NEW:
      return 'new';
    case Sort.VIEWS:
      return 'views';
    default:
      throw unknownEnum('sort');
  }
}
