import type { EventData } from '@wavecast/contracts/events';
import type { Database } from '@wavecast/kit/db';
import { type Kysely, sql, type Transaction } from 'kysely';
import { CATALOG_SCHEMA, type CatalogDb, type Executor } from './tables.ts';
import { columns, type Source, type StoredVideo, sourceColumns, toVideo } from './video.rows.ts';

/**
 * SQL of the status machine and the reconciler; one method per query. Each
 * transition is one conditional UPDATE that answers undefined when the
 * video is not in a state the event applies to.
 */
export class PipelineRepository {
  readonly db: Kysely<CatalogDb>;

  constructor(database: Database) {
    this.db = database.kysely<CatalogDb>(CATALOG_SCHEMA);
  }

  transaction<T>(fn: (trx: Transaction<CatalogDb>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  /**
   * DRAFT -> UPLOADED with the source; also from an upload failure older than
   * this upload (the events of two attempts crossed). Undefined otherwise.
   */
  async markUploaded(db: Executor, id: string, source: Source, now: Date): Promise<StoredVideo | undefined> {
    const row = await db
      .updateTable('videos')
      .set({
        status: 'uploaded',
        failure_stage: null,
        failure_reason: '',
        progress: 0,
        ...sourceColumns(source),
        duration_seconds: source.probe.duration_seconds,
        updated_at: now,
      })
      .where('id', '=', id)
      .where((eb) =>
        eb.or([
          eb('status', '=', 'draft'),
          eb.and([
            eb('status', '=', 'failed'),
            eb('failure_stage', '=', 'upload'),
            eb('failed_at', '<', source.uploadedAt),
          ]),
        ]),
      )
      .returning(columns)
      .executeTakeFirst();
    return row && toVideo(row);
  }

  /**
   * Records the source of a video the encoder's events moved on before
   * video.uploaded.v1 arrived (the consumers run independently), so the
   * reconciler can still re-drive it. Undefined when there is nothing to fill.
   */
  async fillSource(db: Executor, id: string, source: Source): Promise<StoredVideo | undefined> {
    const row = await db
      .updateTable('videos')
      .set({
        ...sourceColumns(source),
        duration_seconds: sql<number>`case when duration_seconds = 0 then ${source.probe.duration_seconds}::float8 else duration_seconds end`,
      })
      .where('id', '=', id)
      .where('source_key', 'is', null)
      .where((eb) =>
        eb.or([
          eb('status', 'in', ['processing', 'ready']),
          eb.and([eb('status', '=', 'failed'), eb('failure_stage', '=', 'encode')]),
        ]),
      )
      .returning(columns)
      .executeTakeFirst();
    return row && toVideo(row);
  }

  /**
   * Moves to PROCESSING and raises the progress (never lowers it); the
   * progress time is the encoder's sign of life for the reconciler.
   */
  async markProgress(
    db: Executor,
    id: string,
    p: { percent: number; at: Date },
    now: Date,
  ): Promise<StoredVideo | undefined> {
    const row = await db
      .updateTable('videos')
      .set({
        status: 'processing',
        progress: sql<number>`greatest(progress, ${p.percent}::float8)`,
        progress_at: sql<Date>`greatest(coalesce(progress_at, ${p.at}::timestamptz), ${p.at}::timestamptz)`,
        // A repeated or lower percentage is no change a client would notice.
        updated_at: sql<Date>`case when status <> 'processing' or progress < ${p.percent}::float8 then ${now}::timestamptz else updated_at end`,
      })
      .where('id', '=', id)
      .where('status', 'in', ['draft', 'uploaded', 'processing'])
      .returning(columns)
      .executeTakeFirst();
    return row && toVideo(row);
  }

  /** -> READY with the outputs, from any state before it; published now unless it was before. */
  async markEncoded(
    db: Executor,
    id: string,
    e: EventData<'video.encoded.v1'>,
    now: Date,
  ): Promise<StoredVideo | undefined> {
    const row = await db
      .updateTable('videos')
      .set({
        status: 'ready',
        progress: 100,
        failure_stage: null,
        failure_reason: '',
        duration_seconds: e.duration_seconds,
        renditions: JSON.stringify(e.renditions),
        hls_key: e.hls_key,
        dash_key: e.dash_key,
        poster_key: e.poster_key,
        storyboard: e.storyboard && JSON.stringify(e.storyboard),
        published_at: sql<Date>`coalesce(published_at, ${now}::timestamptz)`,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', 'in', ['draft', 'uploaded', 'processing'])
      .returning(columns)
      .executeTakeFirst();
    return row && toVideo(row);
  }

  /**
   * -> FAILED. An encode failure ends any state before READY; an upload
   * failure only a DRAFT, and only when newer than the last failure applied.
   */
  async markFailed(
    db: Executor,
    id: string,
    f: { stage: 'upload' | 'encode'; reason: string; at: Date },
    now: Date,
  ): Promise<StoredVideo | undefined> {
    let q = db
      .updateTable('videos')
      .set({
        status: 'failed',
        failure_stage: f.stage,
        failure_reason: f.reason,
        failed_at: f.at,
        updated_at: now,
      })
      .where('id', '=', id);
    q =
      f.stage === 'encode'
        ? q.where('status', 'in', ['draft', 'uploaded', 'processing'])
        : q
            .where('status', '=', 'draft')
            .where((eb) => eb.or([eb('failed_at', 'is', null), eb('failed_at', '<', f.at)]));
    const row = await q.returning(columns).executeTakeFirst();
    return row && toVideo(row);
  }

  /**
   * Videos in the pipeline without a sign of life since `quietSince` and not
   * published again since `republishedBefore`, locked (skipping rows another
   * instance holds) until the transaction ends.
   */
  async lockStuck(
    db: Executor,
    opts: { quietSince: Date; republishedBefore: Date; limit: number },
  ): Promise<StoredVideo[]> {
    const rows = await db
      .selectFrom('videos')
      .select(columns)
      .where('status', 'in', ['uploaded', 'processing'])
      .where('source_key', 'is not', null)
      .where('probe', 'is not', null)
      .where(sql<boolean>`greatest(updated_at, coalesce(progress_at, updated_at)) < ${opts.quietSince}`)
      .where((eb) =>
        eb.or([eb('republished_at', 'is', null), eb('republished_at', '<=', opts.republishedBefore)]),
      )
      .orderBy('updated_at')
      .limit(opts.limit)
      .forUpdate()
      .skipLocked()
      .execute();
    return rows.map(toVideo);
  }

  async markRepublished(db: Executor, ids: string[], now: Date): Promise<void> {
    if (ids.length === 0) return;
    await db
      .updateTable('videos')
      .set({ republished_at: now, republish_count: sql<number>`republish_count + 1` })
      .where('id', 'in', ids)
      .execute();
  }
}
