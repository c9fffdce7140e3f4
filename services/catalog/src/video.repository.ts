import type { Database } from '@wavecast/kit/db';
import { type Kysely, sql, type Transaction } from 'kysely';
import { CATALOG_SCHEMA, type CatalogDb, type Executor } from './tables.ts';
import type { ListOrder, Video, VideoPatch } from './video.model.ts';
import { columns, type StoredVideo, toVideo } from './video.rows.ts';

export type { Source, StoredVideo } from './video.rows.ts';

/** Where a listing page starts: after this sort key and id. */
export interface After {
  key: string | number;
  id: string;
}

/** A listed video with its sort key, from which the next page's cursor is made. */
export interface Listed {
  video: StoredVideo;
  key: string | number;
}

const tsquery = (q: string) => sql`websearch_to_tsquery('simple', ${q})`;

/**
 * SQL on the videos table for owners and viewers; one method per query. The
 * pipeline's transitions live in pipeline.repository.ts.
 */
export class VideoRepository {
  readonly db: Kysely<CatalogDb>;

  constructor(database: Database) {
    this.db = database.kysely<CatalogDb>(CATALOG_SCHEMA);
  }

  transaction<T>(fn: (trx: Transaction<CatalogDb>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  async insert(
    db: Executor,
    v: Pick<Video, 'id' | 'ownerId' | 'title' | 'description' | 'tags' | 'visibility'>,
    now: Date,
  ): Promise<StoredVideo> {
    const row = await db
      .insertInto('videos')
      .values({
        id: v.id,
        owner_id: v.ownerId,
        title: v.title,
        description: v.description,
        tags: v.tags,
        visibility: v.visibility,
        created_at: now,
        updated_at: now,
      })
      .returning(columns)
      .executeTakeFirstOrThrow();
    return toVideo(row);
  }

  async find(db: Executor, id: string, lock = false): Promise<StoredVideo | undefined> {
    let q = db.selectFrom('videos').select(columns).where('id', '=', id);
    if (lock) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && toVideo(row);
  }

  /** Public READY videos in `order`, optionally matching a full-text query; `limit` rows after `after`. */
  async listPublic(opts: {
    order: ListOrder;
    query: string;
    after?: After;
    limit: number;
  }): Promise<Listed[]> {
    const { order, query, after } = opts;
    let q = this.db
      .selectFrom('videos')
      .select(columns)
      .where('status', '=', 'ready')
      .where('visibility', '=', 'public');
    if (query !== '') q = q.where(sql<boolean>`search @@ ${tsquery(query)}`);
    switch (order) {
      case 'new': {
        if (after) q = q.where(sql<boolean>`(published_at, id) < (${new Date(after.key)}, ${after.id})`);
        const rows = await q
          .orderBy('published_at', 'desc')
          .orderBy('id', 'desc')
          .limit(opts.limit)
          .execute();
        return rows.map((row) => ({ video: toVideo(row), key: row.published_at!.toISOString() }));
      }
      case 'views': {
        if (after) q = q.where(sql<boolean>`(view_count, id) < (${String(after.key)}::bigint, ${after.id})`);
        const rows = await q.orderBy('view_count', 'desc').orderBy('id', 'desc').limit(opts.limit).execute();
        return rows.map((row) => ({ video: toVideo(row), key: row.view_count }));
      }
      case 'relevance': {
        // ts_rank_cd weighs title (A) 1.0, tags (B) 0.4, description (C) 0.2. It is a float4:
        // the cursor carries its shortest text form, which casts back to the same value.
        const rank = sql<number>`ts_rank_cd(search, ${tsquery(query)})`;
        if (after) q = q.where(sql<boolean>`(${rank}, id) < (${Number(after.key)}::real, ${after.id})`);
        const rows = await q
          .select(rank.as('rank'))
          .orderBy(rank, 'desc')
          .orderBy('id', 'desc')
          .limit(opts.limit)
          .execute();
        return rows.map((row) => ({ video: toVideo(row), key: row.rank }));
      }
      default:
        throw new Error(`unknown order ${order satisfies never}`);
    }
  }

  /** The owner's videos, newest first (ids sort by creation time). */
  async listByOwner(ownerId: string, afterId: string | undefined, limit: number): Promise<StoredVideo[]> {
    let q = this.db.selectFrom('videos').select(columns).where('owner_id', '=', ownerId);
    if (afterId) q = q.where('id', '<', afterId);
    const rows = await q.orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toVideo);
  }

  async update(db: Executor, id: string, patch: VideoPatch, now: Date): Promise<StoredVideo | undefined> {
    const row = await db
      .updateTable('videos')
      .set({
        ...(patch.title !== undefined && { title: patch.title }),
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.tags !== undefined && { tags: patch.tags }),
        ...(patch.visibility !== undefined && { visibility: patch.visibility }),
        updated_at: now,
      })
      .where('id', '=', id)
      .returning(columns)
      .executeTakeFirst();
    return row && toVideo(row);
  }

  async delete(db: Executor, id: string): Promise<StoredVideo | undefined> {
    const row = await db.deleteFrom('videos').where('id', '=', id).returning(columns).executeTakeFirst();
    return row && toVideo(row);
  }

  /** A failed upload goes back to DRAFT for another try; the failure's time is kept. */
  async reopenFailedUpload(db: Executor, id: string, now: Date): Promise<StoredVideo | undefined> {
    const row = await db
      .updateTable('videos')
      .set({ status: 'draft', failure_stage: null, failure_reason: '', progress: 0, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'failed')
      .where('failure_stage', '=', 'upload')
      .returning(columns)
      .executeTakeFirst();
    return row && toVideo(row);
  }

  /** Adds one view to a READY video; its new count, or undefined when there is no such video. */
  async incrementViews(id: string): Promise<number | undefined> {
    const row = await this.db
      .updateTable('videos')
      .set({ view_count: sql<string>`view_count + 1` })
      .where('id', '=', id)
      .where('status', '=', 'ready')
      .returning('view_count')
      .executeTakeFirst();
    return row && Number(row.view_count);
  }
}
