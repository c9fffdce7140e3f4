export const visibilities = ['public', 'unlisted', 'private'] as const;
export type Visibility = (typeof visibilities)[number];

export const videoStatuses = ['draft', 'uploaded', 'processing', 'ready', 'failed'] as const;
export type VideoStatus = (typeof videoStatuses)[number];

export type FailureStage = 'upload' | 'encode';

export interface Rendition {
  name: string;
  width: number;
  height: number;
  bandwidth: number;
  codecs: string;
}

/** A storyboard sprite as video.encoded.v1 describes it. */
export interface Storyboard {
  key: string;
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
  intervalSeconds: number;
}

/** Where the encoder put a READY video's outputs (storage keys under `videos/<id>/`). */
export interface Outputs {
  hlsKey: string;
  dashKey: string;
  posterKey: string | null;
  storyboard: Storyboard | null;
}

export interface Video {
  id: string;
  ownerId: string;
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
  status: VideoStatus;
  progress: number;
  failureStage: FailureStage | null;
  failureReason: string;
  durationSeconds: number;
  renditions: Rendition[];
  outputs: Outputs | null;
  viewCount: number;
  createdAt: Date;
  updatedAt: Date;
  publishedAt: Date | null;
}

/** Playback URLs of a READY video: plain paths when public, signed and short-lived otherwise. */
export interface Playback {
  hlsUrl: string;
  dashUrl: string;
  posterUrl: string;
  storyboard: (Omit<Storyboard, 'key'> & { url: string }) | null;
  expiresAt: Date | null;
}

/** A video as one viewer may see it. */
export interface VideoView {
  video: Video;
  playback: Playback | null;
}

export interface VideoInput {
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
}

export interface VideoPatch {
  title?: string | undefined;
  description?: string | undefined;
  tags?: string[] | undefined;
  visibility?: Visibility | undefined;
}

export type ListOrder = 'new' | 'views' | 'relevance';

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** Where the uploads service stores a video's file. */
export function sourceKeyOf(videoId: string): string {
  return `uploads/${videoId}/source`;
}

/** Whether `viewerId` may see the video: its owner always, others only READY and not private. */
export function canSee(video: Video, viewerId: string): boolean {
  if (viewerId !== '' && viewerId === video.ownerId) return true;
  return video.status === 'ready' && video.visibility !== 'private';
}
