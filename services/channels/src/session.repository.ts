import type { Selectable } from 'kysely';
import type { LiveSession } from './channel.model.ts';
import type { Executor, LiveSessionsTable } from './tables.ts';

function toSession(row: Selectable<LiveSessionsTable>): LiveSession {
  return {
    id: row.id,
    channelId: row.channel_id,
    ingestNode: row.ingest_node,
    connectionId: row.connection_id,
    clientAddr: row.client_addr,
    startedAt: row.started_at,
    connectedAt: row.connected_at,
    endedAt: row.ended_at,
    publisherConnected: row.publisher_connected,
    disconnectedAt: row.disconnected_at,
    resumeCount: row.resume_count,
    endReason: row.end_reason,
    recordingKey: row.recording_key,
    recordingDurationSeconds: row.recording_duration_seconds,
  };
}

export interface Publisher {
  ingestNode: string;
  connectionId: string;
  clientAddr: string;
}

export interface SessionEnd {
  at: Date;
  reason: string;
  recordingKey: string | null;
  recordingDurationSeconds: number | null;
}

/** SQL on the live_sessions table; one method per query. Callers pass the executor (often a transaction). */
export class SessionRepository {
  async insert(
    db: Executor,
    s: Publisher & { id: string; channelId: string; keyHash: Buffer; at: Date },
  ): Promise<LiveSession> {
    const row = await db
      .insertInto('live_sessions')
      .values({
        id: s.id,
        channel_id: s.channelId,
        ingest_node: s.ingestNode,
        connection_id: s.connectionId,
        client_addr: s.clientAddr,
        publish_key_hash: s.keyHash,
        started_at: s.at,
        connected_at: s.at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toSession(row);
  }

  async find(db: Executor, id: string, lock = false): Promise<LiveSession | undefined> {
    let q = db.selectFrom('live_sessions').selectAll().where('id', '=', id);
    if (lock) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && toSession(row);
  }

  /** The channel's most recent session that has not ended. */
  async latestOpen(db: Executor, channelId: string): Promise<LiveSession | undefined> {
    const row = await db
      .selectFrom('live_sessions')
      .selectAll()
      .where('channel_id', '=', channelId)
      .where('ended_at', 'is', null)
      .orderBy('started_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toSession(row);
  }

  async openOfChannel(db: Executor, channelId: string): Promise<LiveSession[]> {
    const rows = await db
      .selectFrom('live_sessions')
      .selectAll()
      .where('channel_id', '=', channelId)
      .where('ended_at', 'is', null)
      .execute();
    return rows.map(toSession);
  }

  /** The most recent session published with a key (by its lookup hash), open sessions first. */
  async latestByKeyHash(db: Executor, hash: Buffer, lock = false): Promise<LiveSession | undefined> {
    let q = db
      .selectFrom('live_sessions')
      .selectAll()
      .where('publish_key_hash', '=', hash)
      .orderBy((eb) => eb('ended_at', 'is', null), 'desc')
      .orderBy('started_at', 'desc')
      .limit(1);
    if (lock) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && toSession(row);
  }

  /** Every session that has not ended (the sweeper's view; there are as many as live channels). */
  async allOpen(db: Executor): Promise<LiveSession[]> {
    const rows = await db.selectFrom('live_sessions').selectAll().where('ended_at', 'is', null).execute();
    return rows.map(toSession);
  }

  /** A publisher continues a session it dropped. */
  async resume(db: Executor, id: string, p: Publisher & { at: Date }): Promise<LiveSession> {
    const row = await db
      .updateTable('live_sessions')
      .set((eb) => ({
        ingest_node: p.ingestNode,
        connection_id: p.connectionId,
        client_addr: p.clientAddr,
        connected_at: p.at,
        publisher_connected: true,
        disconnected_at: null,
        resume_count: eb('resume_count', '+', 1),
      }))
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toSession(row);
  }

  /** Marks the publisher gone if it still is this connection's; false when nothing changed. */
  async markDisconnected(
    db: Executor,
    id: string,
    at: Date,
    by: { ingestNode: string; connectionId: string },
  ): Promise<boolean> {
    let q = db
      .updateTable('live_sessions')
      .set({ publisher_connected: false, disconnected_at: at })
      .where('id', '=', id)
      .where('ended_at', 'is', null)
      .where('publisher_connected', '=', true);
    if (by.ingestNode) q = q.where('ingest_node', '=', by.ingestNode);
    if (by.connectionId) q = q.where('connection_id', '=', by.connectionId);
    const result = await q.executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Ends the session unless it has ended; undefined when it had. */
  async end(db: Executor, id: string, end: SessionEnd): Promise<LiveSession | undefined> {
    const row = await db
      .updateTable('live_sessions')
      .set({
        ended_at: end.at,
        end_reason: end.reason,
        publisher_connected: false,
        recording_key: end.recordingKey,
        recording_duration_seconds: end.recordingDurationSeconds,
      })
      .where('id', '=', id)
      .where('ended_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    return row && toSession(row);
  }
}
