/**
 * Events on the bus: one versioned schema per event type, and the typed map
 * that publish/subscribe helpers derive from. A breaking change to an event
 * is a new version (`user.registered.v2`) published alongside the old one
 * until every consumer moved.
 */
import Type, { type Static, type TSchema } from 'typebox';

const Id = (prefix: string) => Type.String({ pattern: `^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$` });
const Timestamp = Type.String({ format: 'date-time' });
const Role = Type.Union([Type.Literal('user'), Type.Literal('admin')]);

/** What ffprobe found in an uploaded file: in `video.uploaded.v1` and in the upload API's answer. */
export const probeFields = {
  duration_seconds: Type.Number({ minimum: 0 }),
  width: Type.Integer({ minimum: 0 }),
  height: Type.Integer({ minimum: 0 }),
  video_codec: Type.String(),
  audio_codec: Type.Union([Type.String(), Type.Null()]),
  frame_rate: Type.Number({ minimum: 0 }),
};

export const eventSchemas = {
  /** A new account exists (users service). */
  'user.registered.v1': Type.Object({
    user_id: Id('usr'),
    username: Type.String(),
    role: Role,
    created_at: Timestamp,
  }),
  /** Public profile fields or role changed (users service); caches of the profile drop it. */
  'user.updated.v1': Type.Object({
    user_id: Id('usr'),
    username: Type.String(),
    updated_at: Timestamp,
  }),
  /** An admin banned a user (users service); auth ends the user's sessions. */
  'user.banned.v1': Type.Object({
    user_id: Id('usr'),
    username: Type.String(),
    reason: Type.String(),
    banned_by: Id('usr'),
    banned_at: Timestamp,
  }),
  /** An admin lifted a ban (users service). */
  'user.unbanned.v1': Type.Object({
    user_id: Id('usr'),
    username: Type.String(),
    unbanned_by: Id('usr'),
    unbanned_at: Timestamp,
  }),
  /** A user record was removed (users service), e.g. a registration that failed half-way. */
  'user.deleted.v1': Type.Object({
    user_id: Id('usr'),
    username: Type.String(),
    deleted_at: Timestamp,
  }),
  /** A channel went live: a new live session (channels service). Not sent when a publisher resumes. */
  'stream.started.v1': Type.Object({
    session_id: Id('liv'),
    channel_id: Id('chn'),
    channel: Type.String({ description: 'The channel name' }),
    owner_id: Id('usr'),
    started_at: Timestamp,
    ingest_node: Type.String(),
  }),
  /** A live session ended (channels service); the recording, when there is one, can become a video. */
  'stream.ended.v1': Type.Object({
    session_id: Id('liv'),
    channel_id: Id('chn'),
    channel: Type.String(),
    owner_id: Id('usr'),
    started_at: Timestamp,
    ended_at: Timestamp,
    duration_seconds: Type.Number({ minimum: 0 }),
    reason: Type.String({ description: 'e.g. publisher_disconnected, kicked, ingest_lost' }),
    recording: Type.Union([
      Type.Object({
        storage_key: Type.String({ minLength: 1, description: 'Object key in the storage port' }),
        duration_seconds: Type.Number({ minimum: 0 }),
      }),
      Type.Null(),
    ]),
  }),
  /**
   * A live publisher must be dropped now, e.g. its owner was banned (channels
   * service). The ingest node serving the session disconnects it and ends the
   * session without waiting for a reconnect.
   */
  'stream.kick.v1': Type.Object({
    session_id: Id('liv'),
    channel_id: Id('chn'),
    channel: Type.String(),
    ingest_node: Type.String({ description: 'The node serving the session when the kick was decided' }),
    reason: Type.String(),
  }),
  /**
   * The source file of a video is complete in storage and ffprobe found a
   * decodable video stream (uploads service). The encoder group consumes this
   * as its work queue: one worker encodes it.
   */
  'video.uploaded.v1': Type.Object({
    video_id: Id('vid'),
    owner_id: Id('usr'),
    source_key: Type.String({ minLength: 1, description: 'Object key of the uploaded file' }),
    size_bytes: Type.Integer({ minimum: 1 }),
    probe: Type.Object(probeFields),
    uploaded_at: Timestamp,
  }),
  /** Encoding progress, every few percent (encoder). */
  'video.progress.v1': Type.Object({
    video_id: Id('vid'),
    percent: Type.Number({ minimum: 0, maximum: 100 }),
    attempt: Type.Integer({ minimum: 1 }),
    at: Timestamp,
  }),
  /** The video is encoded and every output is in storage under `videos/<id>/` (encoder). */
  'video.encoded.v1': Type.Object({
    video_id: Id('vid'),
    duration_seconds: Type.Number({ minimum: 0 }),
    hls_key: Type.String({ description: 'HLS master playlist, e.g. videos/<id>/master.m3u8' }),
    dash_key: Type.String({ description: 'DASH manifest, e.g. videos/<id>/manifest.mpd' }),
    poster_key: Type.Union([Type.String(), Type.Null()]),
    storyboard: Type.Union([
      Type.Object({
        key: Type.String(),
        columns: Type.Integer({ minimum: 1 }),
        rows: Type.Integer({ minimum: 1 }),
        tile_width: Type.Integer({ minimum: 1 }),
        tile_height: Type.Integer({ minimum: 1 }),
        interval_seconds: Type.Number({ exclusiveMinimum: 0 }),
      }),
      Type.Null(),
    ]),
    renditions: Type.Array(
      Type.Object({
        name: Type.String(),
        width: Type.Integer({ minimum: 0 }),
        height: Type.Integer({ minimum: 0 }),
        bandwidth: Type.Integer({ minimum: 0 }),
        codecs: Type.String(),
      }),
    ),
    encoded_at: Timestamp,
  }),
  /** The video cannot be made playable; `reason` is for the owner to read (uploads or encoder). */
  'video.failed.v1': Type.Object({
    video_id: Id('vid'),
    stage: Type.Union([Type.Literal('upload'), Type.Literal('encode')]),
    reason: Type.String({ minLength: 1 }),
    failed_at: Timestamp,
  }),
  /** The owner deleted the video (catalog); storage objects under `videos/<id>/` and the source go too. */
  'video.deleted.v1': Type.Object({
    video_id: Id('vid'),
    owner_id: Id('usr'),
    source_key: Type.Union([Type.String(), Type.Null()]),
    deleted_at: Timestamp,
  }),
} as const satisfies Record<string, TSchema>;

export type EventSchemas = typeof eventSchemas;
export type EventType = keyof EventSchemas;
export type EventData<T extends EventType> = Static<EventSchemas[T]>;

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(eventSchemas, value);
}
