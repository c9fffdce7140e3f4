/**
 * Whether a video may be played from its unsigned /media/videos/<id>/ path
 * (public and READY), answered from memory: a player fetches a segment every
 * few seconds, and a catalog RPC per segment would cap the gateway. A change
 * (made private, deleted) takes effect within the TTL.
 */
import type { Client } from '@connectrpc/connect';
import {
  type CatalogService,
  VideoStatus,
  Visibility,
} from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import { AppError } from '@wavecast/kit/errors';

export interface PublicVideosOptions {
  ttlMs?: number;
  /** Misses are remembered shorter, so a video that just became READY plays soon. */
  negativeTtlMs?: number;
  maxEntries?: number;
}

export class PublicVideos {
  readonly #catalog: Client<typeof CatalogService>;
  readonly #ttlMs: number;
  readonly #negativeTtlMs: number;
  readonly #max: number;
  readonly #known = new Map<string, { public: boolean; until: number }>();
  readonly #pending = new Map<string, Promise<boolean>>();

  constructor(catalog: Client<typeof CatalogService>, opts: PublicVideosOptions = {}) {
    this.#catalog = catalog;
    this.#ttlMs = opts.ttlMs ?? 30_000;
    this.#negativeTtlMs = opts.negativeTtlMs ?? 5_000;
    this.#max = opts.maxEntries ?? 10_000;
  }

  async isPublic(videoId: string): Promise<boolean> {
    const hit = this.#known.get(videoId);
    if (hit && hit.until > Date.now()) return hit.public;
    // Concurrent requests for one video (a player starting) share one lookup.
    let pending = this.#pending.get(videoId);
    if (!pending) {
      pending = this.#lookup(videoId).finally(() => this.#pending.delete(videoId));
      this.#pending.set(videoId, pending);
    }
    return pending;
  }

  async #lookup(videoId: string): Promise<boolean> {
    let isPublic = false;
    try {
      const { video } = await this.#catalog.getVideo({ videoId, viewerId: '' });
      isPublic = video?.visibility === Visibility.PUBLIC && video.status === VideoStatus.READY;
    } catch (err) {
      if (!AppError.is(err, 'not_found')) throw err;
    }
    this.#known.delete(videoId);
    if (this.#known.size >= this.#max) this.#known.delete(this.#known.keys().next().value!);
    this.#known.set(videoId, {
      public: isPublic,
      until: Date.now() + (isPublic ? this.#ttlMs : this.#negativeTtlMs),
    });
    return isPublic;
  }
}
