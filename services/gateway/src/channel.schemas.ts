/**
 * Request and response schemas of the channel routes and the RTMP server
 * callbacks (see schemas.ts for the conventions).
 */
import { CHANNEL_CATEGORY, CHANNEL_TITLE } from '@wavecast/contracts/rules';
import Type, { type Static } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

const channelProperties = {
  id: Type.String({ description: 'chn_… id' }),
  owner_id: Type.String({ description: 'usr_… id of the owner' }),
  name: Type.String({ description: 'Lowercase; the address of the channel' }),
  title: Type.String(),
  category: Type.String(),
  live: Type.Boolean(),
  started_at: Nullable(Type.String({ format: 'date-time', description: 'Start of the live session' })),
  viewer_count: Type.Integer({ minimum: 0 }),
  thumbnail_url: Nullable(Type.String()),
  playback_url: Nullable(Type.String({ description: 'HLS master playlist while live' })),
  created_at: Type.String({ format: 'date-time' }),
};

export const PublicChannel = Type.Object(channelProperties, { $id: 'PublicChannel', title: 'PublicChannel' });

export const PrivateChannel = Type.Object(
  {
    ...channelProperties,
    disabled: Type.Boolean({ description: 'Your account is banned: the channel cannot go live' }),
    ingest_url: Type.String({ description: 'The RTMP server to stream to (OBS "Server")' }),
    stream_key: Type.String({ description: 'Secret: whoever has it can stream on your channel' }),
    session_id: Nullable(Type.String({ description: 'liv_… id of the live session' })),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'PrivateChannel', title: 'PrivateChannel' },
);

export const LiveChannel = Type.Object(
  {
    name: Type.String(),
    title: Type.String(),
    category: Type.String(),
    started_at: Type.String({ format: 'date-time' }),
    viewer_count: Type.Integer({ minimum: 0 }),
    thumbnail_url: Nullable(Type.String()),
    playback_url: Type.String(),
  },
  { $id: 'LiveChannel', title: 'LiveChannel' },
);

export const LiveList = Type.Object(
  {
    channels: Type.Array(Type.Ref('LiveChannel')),
    next_cursor: Nullable(Type.String()),
  },
  { $id: 'LiveList', title: 'LiveList' },
);

export const ChannelPatchBody = Type.Object(
  {
    title: Type.Optional(
      Type.String({ minLength: CHANNEL_TITLE.minLength, maxLength: CHANNEL_TITLE.maxLength }),
    ),
    category: Type.Optional(
      Type.String({ maxLength: CHANNEL_CATEGORY.maxLength, description: 'Empty for none' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ChannelNameParams = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64, description: 'A channel name (case-insensitive)' }),
});

export const LiveListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 64, description: 'next_cursor of the previous page' })),
    sort: Type.Optional(
      Type.Union([Type.Literal('viewers'), Type.Literal('newest')], {
        default: 'viewers',
        description: 'Most viewers first, or most recently started first',
      }),
    ),
  },
  { additionalProperties: false },
);

const field = (description: string) => Type.Optional(Type.String({ maxLength: 1024, description }));

/**
 * What nginx-rtmp posts (application/x-www-form-urlencoded), or SRS (JSON,
 * with `stream`, `ip` and `client_id`). Other fields are accepted and ignored.
 */
export const RtmpHookBody = Type.Object(
  {
    name: field('The stream name: the stream key (nginx-rtmp)'),
    stream: field('The stream name: the stream key (SRS)'),
    app: field('The RTMP application, e.g. live'),
    addr: field('The publisher address (nginx-rtmp)'),
    ip: field('The publisher address (SRS)'),
    clientid: field('The connection id on the RTMP server (nginx-rtmp)'),
    client_id: Type.Optional(
      Type.Union([Type.String({ maxLength: 200 }), Type.Integer()], {
        description: 'The connection id (SRS)',
      }),
    ),
    call: field('publish or publish_done (nginx-rtmp)'),
    action: field('on_publish or on_unpublish (SRS)'),
  },
  { additionalProperties: true },
);

export const RtmpHookQuery = Type.Object(
  { secret: Type.Optional(Type.String({ maxLength: 512, description: 'RTMP_HOOK_SECRET, when set' })) },
  { additionalProperties: true },
);

export const RtmpHookReply = Type.Object(
  {
    code: Type.Integer({ description: '0: allowed (what SRS expects)' }),
    channel: Type.Optional(Type.String()),
    session_id: Type.Optional(Type.String()),
    resumed: Type.Optional(Type.Boolean()),
  },
  { $id: 'RtmpHookReply', title: 'RtmpHookReply' },
);

export const channelSchemas = [PublicChannel, PrivateChannel, LiveChannel, LiveList, RtmpHookReply];

export type PublicChannelView = Static<typeof PublicChannel>;
export type PrivateChannelView = Static<typeof PrivateChannel>;
export type LiveChannelView = Static<typeof LiveChannel>;
export type RtmpHookFields = Static<typeof RtmpHookBody>;
