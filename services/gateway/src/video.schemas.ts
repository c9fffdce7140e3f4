/**
 * Request and response schemas of the video routes (see schemas.ts for the
 * conventions). The limits are the catalog service's (video.validation.ts).
 */
import Type, { type Static } from 'typebox';

export const VIDEO_TITLE = { minLength: 1, maxLength: 100 } as const;
export const VIDEO_DESCRIPTION = { maxLength: 5000 } as const;
export const VIDEO_TAGS = { maxItems: 15, maxLength: 30 } as const;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

const VisibilityValue = Type.Union(
  [Type.Literal('public'), Type.Literal('unlisted'), Type.Literal('private')],
  { description: 'public: listed and searchable; unlisted: anyone with the link; private: only you' },
);

const StatusValue = Type.Union(
  [
    Type.Literal('draft'),
    Type.Literal('uploaded'),
    Type.Literal('processing'),
    Type.Literal('ready'),
    Type.Literal('failed'),
  ],
  { description: 'draft (waiting for its file) -> uploaded -> processing -> ready, or failed' },
);

export const Playback = Type.Object(
  {
    hls_url: Type.String({
      description:
        'HLS master playlist: a path under /media/, or behind a CDN (CloudFront) an absolute URL whose ' +
        'signed query string the player appends to every request for this video',
    }),
    dash_url: Type.String({ description: 'DASH manifest over the same CMAF segments' }),
    poster_url: Nullable(Type.String()),
    storyboard: Nullable(
      Type.Object(
        {
          url: Type.String({ description: 'A sprite of columns x rows tiles, in reading order' }),
          columns: Type.Integer({ minimum: 1 }),
          rows: Type.Integer({ minimum: 1 }),
          tile_width: Type.Integer({ minimum: 1 }),
          tile_height: Type.Integer({ minimum: 1 }),
          interval_seconds: Type.Number({ description: 'Seconds of video per tile' }),
        },
        { description: 'Seek previews' },
      ),
    ),
    expires_at: Nullable(
      Type.String({
        format: 'date-time',
        description:
          'When these URLs stop working (unlisted and private videos, every video behind a CDN); null when ' +
          'they do not expire',
      }),
    ),
  },
  { $id: 'Playback', title: 'Playback' },
);

const videoProperties = {
  id: Type.String({ description: 'vid_… id' }),
  owner_id: Type.String({ description: 'usr_… id of the owner' }),
  title: Type.String(),
  description: Type.String(),
  tags: Type.Array(Type.String()),
  visibility: VisibilityValue,
  status: StatusValue,
  progress: Type.Number({ minimum: 0, maximum: 100, description: 'Encoding progress in percent' }),
  failure_reason: Nullable(Type.String({ description: 'Why the video failed' })),
  duration_seconds: Type.Number({ minimum: 0 }),
  renditions: Type.Array(
    Type.Object({
      name: Type.String({ description: 'e.g. 720p' }),
      width: Type.Integer(),
      height: Type.Integer(),
      bandwidth: Type.Integer({ description: 'bits per second' }),
      codecs: Type.String({ description: 'RFC 6381 codecs string' }),
    }),
  ),
  view_count: Type.Integer({ minimum: 0 }),
  thumbnail_url: Nullable(Type.String({ description: 'The poster, when the video is ready' })),
  playback: Nullable(Type.Ref('Playback')),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  published_at: Nullable(Type.String({ format: 'date-time', description: 'When it became ready' })),
};

export const Video = Type.Object(videoProperties, { $id: 'Video', title: 'Video' });

export const VideoOwner = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    display_name: Type.String(),
    avatar_url: Type.String(),
  },
  { $id: 'VideoOwner', title: 'VideoOwner' },
);

export const VideoDetails = Type.Object(
  { ...videoProperties, owner: Nullable(Type.Ref('VideoOwner')) },
  { $id: 'VideoDetails', title: 'VideoDetails' },
);

export const VideoList = Type.Object(
  { videos: Type.Array(Type.Ref('Video')), next_cursor: Nullable(Type.String()) },
  { $id: 'VideoList', title: 'VideoList' },
);

export const CreatedVideo = Type.Object(
  {
    video: Type.Ref('Video'),
    upload: Type.Object(
      {
        url: Type.String({ description: 'The tus endpoint to create the upload at' }),
        method: Type.Literal('tus'),
        metadata: Type.Object(
          { video_id: Type.String() },
          { description: 'Upload-Metadata to send when creating the upload' },
        ),
      },
      { description: 'How to send the file (resumable, tus 1.0)' },
    ),
  },
  { $id: 'CreatedVideo', title: 'CreatedVideo' },
);

const title = Type.String({ minLength: VIDEO_TITLE.minLength, maxLength: VIDEO_TITLE.maxLength });
const description = Type.String({ maxLength: VIDEO_DESCRIPTION.maxLength });
const tags = Type.Array(Type.String({ minLength: 1, maxLength: VIDEO_TAGS.maxLength }), {
  maxItems: VIDEO_TAGS.maxItems,
  description: 'Stored lowercased, without repeats',
});

export const CreateVideoBody = Type.Object(
  {
    title,
    description: Type.Optional(description),
    tags: Type.Optional(tags),
    visibility: Type.Optional({ ...VisibilityValue, default: 'public' }),
  },
  { additionalProperties: false },
);

export const VideoPatchBody = Type.Object(
  {
    title: Type.Optional(title),
    description: Type.Optional(description),
    tags: Type.Optional(tags),
    visibility: Type.Optional(VisibilityValue),
  },
  { additionalProperties: false, minProperties: 1 },
);

const page = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor of the previous page' })),
};

export const VideoListQuery = Type.Object(
  {
    ...page,
    q: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'Words of the title, tags or description; "quoted phrases", or, -excluded',
      }),
    ),
    sort: Type.Optional(
      Type.Union([Type.Literal('new'), Type.Literal('views')], {
        description: 'Newest or most viewed first; with q and no sort, the best matches first',
      }),
    ),
  },
  { additionalProperties: false },
);

export const OwnVideoListQuery = Type.Object(page, { additionalProperties: false });

export const VideoIdParams = Type.Object({
  id: Type.String({ pattern: '^vid_[0-9A-HJKMNP-TV-Z]{26}$', description: 'a vid_… id' }),
});

export const videoSchemas = [Playback, Video, VideoOwner, VideoDetails, VideoList, CreatedVideo];

export type VideoView = Static<typeof Video>;
export type VideoOwnerView = Static<typeof VideoOwner>;
export type VisibilityName = Static<typeof VisibilityValue>;
