import { eventSchemas } from '@wavecast/contracts/events';
import { AppError } from '@wavecast/kit/errors';
import { newId } from '@wavecast/kit/ids';
import type { Logger } from '@wavecast/kit/log';
import { addEvent } from '@wavecast/kit/outbox';
import type { Transaction } from 'kysely';
import type { Channel, LiveEntry, LiveSession } from './channel.model.ts';
import type { ChannelRepository } from './channel.repository.ts';
import { assertValid, thumbnailProblem, tokenProblem, violation } from './channel.validation.ts';
import type { LiveDirectory } from './live-directory.ts';
import type { Publisher, SessionEnd, SessionRepository } from './session.repository.ts';
import { isWellFormedStreamKey, type StreamKeyVault } from './stream-key.ts';
import type { ChannelsDb } from './tables.ts';

export interface SessionServiceDeps {
  channels: ChannelRepository;
  sessions: SessionRepository;
  directory: LiveDirectory;
  vault: StreamKeyVault;
  logger: Logger;
  /** How long a dropped publisher may come back and continue its session. */
  reconnectGraceMs: number;
  /** The clock (tests move it). */
  now?: () => Date;
  /** Called after a commit that wrote events, so the outbox relays at once. */
  onEvents?: () => void;
}

export interface PublishRequest extends Publisher {
  streamKey: string;
  /** Overrides the service's grace for this decision. */
  reconnectGraceSeconds?: number | undefined;
}

export interface Authorized {
  channel: Channel;
  session: LiveSession;
  resumed: boolean;
}

/** Who asks: when given, only the session's current publisher may disconnect or end it. */
export interface Caller {
  ingestNode?: string;
  connectionId?: string;
}

export interface EndRequest extends Caller {
  sessionId?: string;
  streamKey?: string;
  reason?: string;
  recordingKey?: string;
  recordingDurationSeconds?: number;
}

/** A session disconnected this long past its grace has lost its ingest: the sweeper ends it. */
const ABANDONED_AFTER_MS = 5 * 60_000;

const denied = () => new AppError('permission_denied', 'this stream key is not valid');
const disabled = () => new AppError('permission_denied', 'this channel is disabled: its owner is banned');
const sessionNotFound = () => new AppError('not_found', 'live session not found');

const isCaller = (s: LiveSession, c: Caller) =>
  (!c.ingestNode || c.ingestNode === s.ingestNode) && (!c.connectionId || c.connectionId === s.connectionId);

/**
 * The lifecycle of live sessions, driven by ingest nodes (or an RTMP server's
 * callbacks): authorize, disconnect, resume within the grace, end. The
 * database is the source of truth; the live directory follows it.
 */
export class SessionService {
  readonly #d: SessionServiceDeps;
  /** Connected sessions without a heartbeat at the last sweep. */
  #silent = new Set<string>();

  constructor(deps: SessionServiceDeps) {
    this.#d = deps;
  }

  get reconnectGraceSeconds(): number {
    return this.#d.reconnectGraceMs / 1000;
  }

  #now(): Date {
    return this.#d.now?.() ?? new Date();
  }

  async #write<T>(fn: (trx: Transaction<ChannelsDb>) => Promise<T>): Promise<T> {
    const result = await this.#d.channels.transaction(fn);
    this.#d.onEvents?.();
    return result;
  }

  async authorize(req: PublishRequest): Promise<Authorized> {
    assertValid([
      violation('ingest_node', tokenProblem(req.ingestNode, 200, true)),
      violation('connection_id', tokenProblem(req.connectionId, 200)),
      violation('client_addr', tokenProblem(req.clientAddr, 100)),
    ]);
    const { channels, sessions, directory, vault } = this.#d;
    if (!isWellFormedStreamKey(req.streamKey)) throw denied();
    const hash = vault.lookupHash(req.streamKey);
    const candidate = await channels.findByKeyHash(channels.db, hash);
    if (!candidate) throw denied();
    if (candidate.disabled) throw disabled();
    // Read before the transaction: no cache round trip while the channel row is locked.
    const entry = await directory.get(candidate.id);
    const graceMs =
      req.reconnectGraceSeconds === undefined ? this.#d.reconnectGraceMs : req.reconnectGraceSeconds * 1000;
    const publisher = {
      ingestNode: req.ingestNode,
      connectionId: req.connectionId,
      clientAddr: req.clientAddr,
    };

    const result = await this.#write(async (trx): Promise<Authorized> => {
      const now = this.#now();
      // Locking the channel serialises publish decisions for it across instances.
      const channel = await channels.findByKeyHash(trx, hash, true);
      if (!channel) throw denied();
      if (channel.disabled) throw disabled();
      const current = await sessions.latestOpen(trx, channel.id);
      if (current?.publisherConnected) {
        // The same connection asking again (a retried call) gets the same answer.
        if (
          req.connectionId &&
          current.connectionId === req.connectionId &&
          current.ingestNode === req.ingestNode
        ) {
          return { channel, session: current, resumed: current.resumeCount > 0 };
        }
        const heartbeat = entry?.sessionId === current.id;
        const quietMs = now.getTime() - current.connectedAt.getTime();
        if (heartbeat || quietMs <= directory.ttlMs) {
          throw new AppError('failed_precondition', 'this channel already has a connected publisher');
        }
        // Its ingest stopped reporting: presume the node lost, and end the session.
        await this.#endIn(trx, channel, current, {
          at: now,
          reason: 'ingest_lost',
          recordingKey: null,
          recordingDurationSeconds: null,
        });
      } else if (current?.disconnectedAt && now.getTime() - current.disconnectedAt.getTime() <= graceMs) {
        const session = await sessions.resume(trx, current.id, { ...publisher, at: now });
        return { channel, session, resumed: true };
      }
      // A session dropped longer than the grace ago stays open beside the new one
      // until its ingest ends it with its recording (or the sweeper gives up on it).
      const session = await sessions.insert(trx, {
        id: newId('liv'),
        channelId: channel.id,
        keyHash: hash,
        at: now,
        ...publisher,
      });
      await addEvent(trx, eventSchemas, 'stream.started.v1', {
        session_id: session.id,
        channel_id: channel.id,
        channel: channel.name,
        owner_id: channel.ownerId,
        started_at: session.startedAt.toISOString(),
        ingest_node: session.ingestNode,
      });
      return { channel, session, resumed: false };
    });

    const kept = entry?.sessionId === result.session.id ? entry : undefined;
    await directory.put(
      entryOf(result.channel, result.session, kept?.viewerCount ?? 0, kept?.thumbnailUrl ?? ''),
    );
    return result;
  }

  /** The publisher dropped: the grace starts. Ignored when it ended, or continues elsewhere. */
  async publisherDisconnected(req: { sessionId: string } & Caller): Promise<{ ended: boolean }> {
    const { sessions, channels } = this.#d;
    const session = await sessions.find(channels.db, req.sessionId);
    if (!session) throw sessionNotFound();
    if (session.endedAt) return { ended: true };
    await sessions.markDisconnected(channels.db, session.id, this.#now(), {
      ingestNode: req.ingestNode ?? '',
      connectionId: req.connectionId ?? '',
    });
    return { ended: false };
  }

  /** Ends a session by id or by the key it was published with. Idempotent. */
  async end(req: EndRequest): Promise<{ session: LiveSession; alreadyEnded: boolean }> {
    const reason = req.reason || 'ended';
    const recordingKey = req.recordingKey ?? '';
    const duration = req.recordingDurationSeconds ?? 0;
    assertValid([
      violation('session_id', req.sessionId || req.streamKey ? undefined : 'or stream_key is required'),
      violation('reason', tokenProblem(reason, 100)),
      violation('recording_key', tokenProblem(recordingKey, 1024)),
      violation(
        'recording_duration_seconds',
        Number.isFinite(duration) && duration >= 0 ? undefined : 'must be a number >= 0',
      ),
    ]);
    const { channels, sessions, vault } = this.#d;
    const result = await this.#write(async (trx) => {
      let session: LiveSession | undefined;
      if (req.sessionId) session = await sessions.find(trx, req.sessionId, true);
      else if (req.streamKey && isWellFormedStreamKey(req.streamKey))
        session = await sessions.latestByKeyHash(trx, vault.lookupHash(req.streamKey), true);
      if (!session) throw sessionNotFound();
      if (session.endedAt) return { session, alreadyEnded: true, channel: undefined };
      if (!isCaller(session, req)) {
        throw new AppError('failed_precondition', 'the session continues on another ingest connection');
      }
      const channel = await channels.findById(trx, session.channelId);
      if (!channel) throw new AppError('internal', 'a live session without its channel');
      const ended = await this.#endIn(trx, channel, session, {
        at: this.#now(),
        reason,
        recordingKey: recordingKey || null,
        recordingDurationSeconds: recordingKey ? duration : null,
      });
      return { session: ended, alreadyEnded: false, channel };
    });
    if (result.channel) await this.#d.directory.remove(result.channel.id, result.session.id);
    return { session: result.session, alreadyEnded: result.alreadyEnded };
  }

  /** The ingest's heartbeat: refreshes the session's directory entry (viewers, thumbnail). */
  async updateStats(req: { sessionId: string; viewerCount: number; thumbnailUrl: string }): Promise<void> {
    assertValid([violation('thumbnail_url', thumbnailProblem(req.thumbnailUrl))]);
    const { directory, sessions, channels } = this.#d;
    const session = await sessions.find(channels.db, req.sessionId);
    if (!session) throw sessionNotFound();
    if (session.endedAt) throw new AppError('failed_precondition', 'this live session has ended');
    const entry = await directory.get(session.channelId);
    if (entry && entry.sessionId === session.id) {
      // The usual case: no database read beyond the session's.
      await directory.put({
        ...entry,
        viewerCount: req.viewerCount,
        thumbnailUrl: req.thumbnailUrl || entry.thumbnailUrl,
      });
      return;
    }
    // Ids sort by creation: a greater one is a newer session of the channel.
    if (entry && entry.sessionId > session.id) {
      throw new AppError('failed_precondition', 'a newer live session replaced this one');
    }
    // The entry expired (a slow heartbeat, a cache restart) or was removed by a ban.
    const channel = await channels.findById(channels.db, session.channelId);
    if (!channel) throw new AppError('internal', 'a live session without its channel');
    if (channel.disabled) throw disabled();
    await directory.put(entryOf(channel, session, req.viewerCount, req.thumbnailUrl));
  }

  /**
   * Ends the sessions whose ingest is gone: connected ones without a
   * heartbeat at two sweeps in a row, and dropped ones long past their grace.
   * Returns how many it ended. Every instance may sweep; ending is idempotent.
   */
  async sweep(): Promise<number> {
    const { sessions, channels, directory } = this.#d;
    const open = await sessions.allOpen(channels.db);
    const entries = await directory.getMany(open.map((s) => s.channelId));
    const now = this.#now().getTime();
    const silent = new Set<string>();
    let ended = 0;
    for (const [i, session] of open.entries()) {
      let reason: string | undefined;
      if (!session.publisherConnected) {
        const since = session.disconnectedAt?.getTime() ?? now;
        if (now - since > this.#d.reconnectGraceMs + ABANDONED_AFTER_MS) reason = 'publisher_disconnected';
      } else if (
        entries[i]?.sessionId !== session.id &&
        now - session.connectedAt.getTime() > directory.ttlMs
      ) {
        if (this.#silent.has(session.id)) reason = 'ingest_lost';
        else silent.add(session.id);
      }
      if (reason && !(await this.end({ sessionId: session.id, reason })).alreadyEnded) ended++;
    }
    this.#silent = silent;
    if (ended > 0) this.#d.logger.info({ ended }, 'ended live sessions whose ingest was gone');
    return ended;
  }

  async #endIn(
    trx: Transaction<ChannelsDb>,
    channel: Channel,
    session: LiveSession,
    end: SessionEnd,
  ): Promise<LiveSession> {
    const ended = await this.#d.sessions.end(trx, session.id, end);
    if (!ended) throw new AppError('internal', 'a locked live session ended underneath');
    const endedAt = ended.endedAt ?? end.at;
    await addEvent(trx, eventSchemas, 'stream.ended.v1', {
      session_id: ended.id,
      channel_id: channel.id,
      channel: channel.name,
      owner_id: channel.ownerId,
      started_at: ended.startedAt.toISOString(),
      ended_at: endedAt.toISOString(),
      duration_seconds: Math.max(0, (endedAt.getTime() - ended.startedAt.getTime()) / 1000),
      reason: ended.endReason,
      recording: ended.recordingKey
        ? { storage_key: ended.recordingKey, duration_seconds: ended.recordingDurationSeconds ?? 0 }
        : null,
    });
    return ended;
  }
}

export function entryOf(
  channel: Channel,
  session: LiveSession,
  viewerCount: number,
  thumbnailUrl: string,
): LiveEntry {
  return {
    sessionId: session.id,
    channelId: channel.id,
    name: channel.name,
    title: channel.title,
    category: channel.category,
    startedAt: session.startedAt.toISOString(),
    viewerCount,
    thumbnailUrl,
    ingestNode: session.ingestNode,
  };
}
