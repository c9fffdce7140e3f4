import { createHash } from 'node:crypto';
import { eventSchemas } from '@wavecast/contracts/events';
import type { Cache } from '@wavecast/kit/cache';
import { AppError } from '@wavecast/kit/errors';
import { newId } from '@wavecast/kit/ids';
import type { Logger } from '@wavecast/kit/log';
import { addEvent } from '@wavecast/kit/outbox';
import { decodePageToken, encodePageToken } from './page-token.ts';
import type { PlaybackSigner } from './playback.ts';
import {
  canSee,
  type ListOrder,
  type Page,
  sourceKeyOf,
  type Video,
  type VideoInput,
  type VideoPatch,
  type VideoView,
} from './video.model.ts';
import type { StoredVideo, VideoRepository } from './video.repository.ts';
import {
  assertValid,
  idProblem,
  normalisePatch,
  validateInput,
  validatePatch,
  violation,
} from './video.validation.ts';

export interface VideoServiceDeps {
  videos: VideoRepository;
  cache: Cache;
  signer: PlaybackSigner;
  logger: Logger;
  /** A viewer session counts one view per video per this window. */
  viewWindowSeconds: number;
  now: () => Date;
  /** Called after a commit that wrote events, so the outbox relays at once. */
  onEvents?: () => void;
}

const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;

const notFound = () => new AppError('not_found', 'video not found');

const strip = ({ source: _, failedAt: __, ...video }: StoredVideo): Video => video;

/** Videos as their owners and viewers use them. Knows nothing of gRPC or HTTP. */
export class VideoService {
  readonly #d: VideoServiceDeps;

  constructor(deps: VideoServiceDeps) {
    this.#d = deps;
  }

  async create(ownerId: string, input: VideoInput): Promise<VideoView> {
    const clean = normalisePatch(input);
    validateInput(ownerId, clean);
    const { videos } = this.#d;
    const stored = await videos.insert(videos.db, { id: newId('vid'), ownerId, ...clean }, this.#d.now());
    return this.#view(stored);
  }

  /** A video `viewerId` may see (empty: anonymous); NOT_FOUND otherwise, whether or not it exists. */
  async get(videoId: string, viewerId: string): Promise<VideoView> {
    const stored = isVideoId(videoId) ? await this.#d.videos.find(this.#d.videos.db, videoId) : undefined;
    if (!stored || !canSee(stored, viewerId)) throw notFound();
    return this.#view(stored);
  }

  /** Public READY videos; with a query and no explicit order, the best matches first. */
  async listPublic(input: {
    order: ListOrder | undefined;
    query: string;
    pageSize: number;
    pageToken: string;
  }): Promise<Page<VideoView>> {
    const query = input.query.trim();
    assertValid([violation('query', query.length > 200 ? 'must be at most 200 characters' : undefined)]);
    const order: ListOrder = input.order ?? (query ? 'relevance' : 'new');
    if (order === 'relevance' && !query) {
      throw new AppError('invalid_argument', 'ordering by relevance needs a query', {
        fields: [{ field: 'query', message: 'is required to order by relevance' }],
      });
    }
    const limit = pageSize(input.pageSize);
    const listing = `public:${order}`;
    const after = input.pageToken ? decodePageToken(input.pageToken, listing) : undefined;
    const rows = await this.#d.videos.listPublic({ order, query, ...(after && { after }), limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => this.#view(r.video)),
      nextPageToken:
        rows.length > limit && last ? encodePageToken(listing, { key: last.key, id: last.video.id }) : '',
    };
  }

  /** The owner's videos, any status, newest first. */
  async listOwn(input: { ownerId: string; pageSize: number; pageToken: string }): Promise<Page<VideoView>> {
    assertValid([violation('owner_id', idProblem(input.ownerId, 'usr'))]);
    const limit = pageSize(input.pageSize);
    const after = input.pageToken ? decodePageToken(input.pageToken, 'own') : undefined;
    const rows = await this.#d.videos.listByOwner(input.ownerId, after?.id, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((v) => this.#view(v)),
      nextPageToken: rows.length > limit && last ? encodePageToken('own', { key: 0, id: last.id }) : '',
    };
  }

  async update(videoId: string, actorId: string, input: VideoPatch): Promise<VideoView> {
    const patch = normalisePatch(input);
    validatePatch(patch);
    const { videos } = this.#d;
    const updated = await videos.transaction(async (trx) => {
      this.#owned(await videos.find(trx, videoId, true), actorId);
      return videos.update(trx, videoId, patch, this.#d.now());
    });
    if (!updated) throw notFound();
    return this.#view(updated);
  }

  /** Deletes the video; video.deleted.v1 lets the storage owners remove its objects. */
  async delete(videoId: string, actorId: string): Promise<void> {
    const { videos } = this.#d;
    await videos.transaction(async (trx) => {
      this.#owned(await videos.find(trx, videoId, true), actorId);
      const deleted = await videos.delete(trx, videoId);
      if (!deleted) throw notFound();
      await addEvent(trx, eventSchemas, 'video.deleted.v1', {
        video_id: deleted.id,
        owner_id: deleted.ownerId,
        source_key: deleted.source?.key ?? null,
        deleted_at: this.#d.now().toISOString(),
      });
    });
    this.#d.onEvents?.();
    this.#d.logger.info({ videoId, ownerId: actorId }, 'video deleted');
  }

  /**
   * Lets the owner upload the file of a DRAFT video, or upload again after
   * an upload failed (the video goes back to DRAFT). Answers where to store it.
   */
  async authorizeUpload(videoId: string, actorId: string): Promise<{ sourceKey: string }> {
    const { videos } = this.#d;
    await videos.transaction(async (trx) => {
      // Unlike reads, an upload to another user's video is refused as such (ids are unguessable).
      const video = await videos.find(trx, videoId, true);
      if (!video) throw notFound();
      if (video.ownerId !== actorId)
        throw new AppError('permission_denied', 'this video belongs to another user');
      if (video.status === 'draft') return;
      if (video.status === 'failed' && video.failureStage === 'upload') {
        await videos.reopenFailedUpload(trx, videoId, this.#d.now());
        return;
      }
      throw new AppError('failed_precondition', `the video already has its file (it is ${video.status})`);
    });
    return { sourceKey: sourceKeyOf(videoId) };
  }

  /**
   * Counts a view of a READY video once per viewer session per window: the
   * cache remembers the session (SET NX with a TTL), the database counts.
   */
  async recordView(videoId: string, viewerSession: string): Promise<{ counted: boolean; viewCount: number }> {
    assertValid([
      violation('video_id', idProblem(videoId, 'vid')),
      violation(
        'viewer_session',
        viewerSession === '' || viewerSession.length > 256 ? 'must be 1-256 characters' : undefined,
      ),
    ]);
    const { cache, videos } = this.#d;
    const session = createHash('sha256').update(viewerSession).digest('base64url').slice(0, 22);
    const key = `catalog:view:${videoId}:${session}`;
    const first = await cache.setIfAbsent(key, '1', { ttlMs: this.#d.viewWindowSeconds * 1000 });
    if (!first) {
      const video = await videos.find(videos.db, videoId);
      if (video?.status !== 'ready') throw notFound();
      return { counted: false, viewCount: video.viewCount };
    }
    let count: number | undefined;
    try {
      count = await videos.incrementViews(videoId);
    } finally {
      // Not counted (no such READY video, or the database failed): the window does not start.
      if (count === undefined) await cache.delete(key).catch(() => undefined);
    }
    if (count === undefined) throw notFound();
    return { counted: true, viewCount: count };
  }

  /** The video when `actorId` owns it; NOT_FOUND when they may not even see it, else PERMISSION_DENIED. */
  #owned(video: StoredVideo | undefined, actorId: string): StoredVideo {
    if (!video || !canSee(video, actorId)) throw notFound();
    if (video.ownerId !== actorId) throw new AppError('permission_denied', 'only the owner may do this');
    return video;
  }

  #view(stored: StoredVideo): VideoView {
    return { video: strip(stored), playback: this.#d.signer.playback(stored, this.#d.now()) };
  }
}

function isVideoId(value: string): boolean {
  return idProblem(value, 'vid') === undefined;
}

function pageSize(requested: number): number {
  return Math.min(Math.max(requested || DEFAULT_PAGE, 1), MAX_PAGE);
}
