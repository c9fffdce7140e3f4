/**
 * The ingest node's business: who may publish (asked of the channels
 * service before anything is acknowledged), the live sessions on this node,
 * reconnect grace, kicks, and reporting viewers and thumbnails back to the
 * directory.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@connectrpc/connect';
import type { ChannelsService } from '@wavecast/contracts/gen/wavecast/channels/v1/channels_pb.js';
import { AppError } from '@wavecast/kit/errors';
import type { Logger } from '@wavecast/kit/log';
import type { Storage } from '@wavecast/kit/storage';
import type { LiveStream } from './hls/index.ts';
import { LiveChannel, type LiveChannelSettings } from './live-channel.ts';
import type { PublishRequest, PublishSession } from './rtmp/types.ts';
import { ViewerCounter } from './viewers.ts';

export interface IngestServiceDeps {
  channels: Client<typeof ChannelsService>;
  storage: Storage;
  logger: Logger;
  /** This node's origin URL: its identity for the channels service. */
  nodeId: string;
  settings: LiveChannelSettings;
  reconnectGraceSeconds: number;
}

interface Authorization {
  connectionId: string;
  sessionId: string;
  channelId: string;
  name: string;
  resumed: boolean;
  /** Ends the session if the RTMP server never starts the publish (the client left meanwhile). */
  orphanTimer: NodeJS.Timeout;
}

const STATS_EVERY_MS = 5_000;
/** After a session ends, its final playlist stays up this long, so players see ENDLIST. */
const LINGER_MS = 30_000;

export class IngestService {
  /** Channel name -> what the origin serves. */
  readonly streams = new Map<string, LiveStream>();
  readonly viewers = new ViewerCounter();
  readonly #d: IngestServiceDeps;
  readonly #sessions = new Map<string, LiveChannel>();
  readonly #pending = new WeakMap<PublishRequest, Authorization>();
  readonly #lingering = new Set<NodeJS.Timeout>();
  readonly #streamWaiters = new Map<string, Set<() => void>>();
  readonly #stats: NodeJS.Timeout;
  #stopping = false;

  constructor(deps: IngestServiceDeps) {
    this.#d = deps;
    this.#stats = setInterval(() => void this.#reportStats(), STATS_EVERY_MS);
    this.#stats.unref();
  }

  /** Live sessions on this node, by session id. */
  get sessions(): ReadonlyMap<string, LiveChannel> {
    return this.#sessions;
  }

  /** RTMP `publish`: the channels service decides; nothing is acknowledged before. */
  authorize = async (req: PublishRequest): Promise<void> => {
    if (this.#stopping) throw new AppError('unavailable', 'this ingest node is shutting down');
    if (req.app !== 'live')
      throw new AppError('permission_denied', `unknown application "${req.app}"; use /live`);
    const connectionId = randomUUID();
    const res = await this.#d.channels.authorizePublish({
      streamKey: req.streamName,
      ingestNode: this.#d.nodeId,
      clientAddr: req.remoteAddress,
      connectionId,
      reconnectGraceSeconds: this.#d.reconnectGraceSeconds,
    });
    if (!res.channel) throw new AppError('internal', 'channels service returned no channel');
    const auth: Authorization = {
      connectionId,
      sessionId: res.sessionId,
      channelId: res.channel.id,
      name: res.channel.name,
      resumed: res.resumed,
      orphanTimer: setTimeout(() => void this.#orphaned(auth), 10_000),
    };
    this.#pending.set(req, auth);
  };

  /** RTMP publish started: start or resume the session's broadcast. */
  onPublish = (publisher: PublishSession): void => {
    const auth = this.#pending.get(publisher.request);
    if (!auth) {
      publisher.close('no authorization');
      return;
    }
    clearTimeout(auth.orphanTimer);
    let live = this.#sessions.get(auth.sessionId);
    if (!live) {
      live = new LiveChannel({
        name: auth.name,
        channelId: auth.channelId,
        sessionId: auth.sessionId,
        settings: this.#d.settings,
        storage: this.#d.storage,
        log: this.#d.logger.child({ channel: auth.name, session: auth.sessionId }),
        publish: (name, stream) => this.#publishStream(name, stream),
      });
      this.#sessions.set(auth.sessionId, live);
    }
    this.#d.logger.info(
      { channel: auth.name, session: auth.sessionId, resumed: auth.resumed },
      'publisher live',
    );
    live.attach(publisher);
    const current = live;
    void publisher.ended.then((end) => this.#publisherGone(current, publisher, auth, end.reason));
  };

  /**
   * Resolves once the origin has a stream for `name`, or false after
   * `timeoutMs`: a player that arrives while a just-accepted broadcast is
   * starting waits a moment instead of getting a 404.
   */
  async waitForStream(name: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.streams.has(name)) return true;
    const starting = [...this.#sessions.values()].some((live) => live.name === name);
    if (!starting) return false;
    return new Promise<boolean>((resolve) => {
      const waiters = this.#streamWaiters.get(name) ?? new Set();
      this.#streamWaiters.set(name, waiters);
      const done = (found: boolean) => {
        clearTimeout(timer);
        waiters.delete(wake);
        signal?.removeEventListener('abort', abort);
        resolve(found);
      };
      const wake = () => done(true);
      const abort = () => done(false);
      const timer = setTimeout(() => done(this.streams.has(name)), timeoutMs);
      waiters.add(wake);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  #publishStream(name: string, stream: LiveStream): void {
    // A stream is published as its first ffmpeg starts, fed from the publisher's first media tag,
    // which has just arrived: media time 0, so program date-time tells when the input arrived.
    stream.anchorInput(Date.now());
    this.streams.set(name, stream);
    const waiters = this.#streamWaiters.get(name);
    this.#streamWaiters.delete(name);
    for (const wake of waiters ?? []) wake();
  }

  /** JPEG of a live channel, if one was made. */
  thumbnail(name: string): { jpeg: Buffer; version: number } | undefined {
    for (const live of this.#sessions.values()) {
      if (live.name === name && live.thumbnails.jpeg)
        return { jpeg: live.thumbnails.jpeg, version: live.thumbnails.version };
    }
    return undefined;
  }

  /** Ends a session now (ban, operator): the publisher is dropped without grace. */
  async kick(sessionId: string, reason: string): Promise<void> {
    const live = this.#sessions.get(sessionId);
    if (!live) return;
    this.#d.logger.info({ channel: live.name, session: sessionId, reason }, 'kicking the publisher');
    await this.#end(live, reason);
  }

  /** Ends every session on this node (service shutdown). */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#stats);
    await Promise.all([...this.#sessions.values()].map((live) => this.#end(live, 'ingest_stopped')));
    for (const t of this.#lingering) clearTimeout(t);
  }

  async #publisherGone(live: LiveChannel, publisher: PublishSession, auth: Authorization, reason: string) {
    if (live.publisher !== publisher || this.#stopping) return; // replaced by a reconnect, or shutting down
    await live.detach();
    // Each await is a chance for the publisher to come back, or for the session to end.
    const settled = () => live.publisher !== undefined || !this.#sessions.has(live.sessionId);
    if (settled()) return;
    if (reason === 'unpublished' || reason === 'kicked') {
      await this.#end(live, reason === 'unpublished' ? 'publisher_ended' : 'kicked');
      return;
    }
    let grace = this.#d.reconnectGraceSeconds;
    try {
      const res = await this.#d.channels.publisherDisconnected({
        sessionId: live.sessionId,
        ingestNode: this.#d.nodeId,
        connectionId: auth.connectionId,
      });
      grace = res.ended ? 0 : res.reconnectGraceSeconds || grace;
    } catch (err) {
      this.#d.logger.warn(
        { err, session: live.sessionId },
        'could not report the disconnect; using the local grace',
      );
    }
    if (settled()) return;
    this.#d.logger.info(
      { channel: live.name, reason, graceSeconds: grace },
      'publisher gone; waiting for a reconnect',
    );
    live.graceTimer = setTimeout(() => {
      if (!live.publisher) void this.#end(live, 'publisher_disconnected');
    }, grace * 1000);
  }

  async #end(live: LiveChannel, reason: string): Promise<void> {
    if (!this.#sessions.delete(live.sessionId)) return;
    const recording = await live.end().catch((err) => {
      this.#d.logger.error({ err, session: live.sessionId }, 'the recording could not be finished');
      return null;
    });
    try {
      await this.#d.channels.endSession({
        session: { case: 'sessionId', value: live.sessionId },
        reason,
        recordingKey: recording?.key ?? '',
        recordingDurationSeconds: recording?.durationSeconds ?? 0,
        ingestNode: this.#d.nodeId,
      });
    } catch (err) {
      this.#d.logger.warn(
        { err, session: live.sessionId },
        'could not end the session at the channels service',
      );
    }
    this.viewers.forget(live.name);
    this.#d.logger.info(
      { channel: live.name, session: live.sessionId, reason, recording: recording?.key },
      'session ended',
    );
    const stream = live.stream;
    const timer = setTimeout(() => {
      this.#lingering.delete(timer);
      if (stream && this.streams.get(live.name) === stream) this.streams.delete(live.name);
    }, LINGER_MS);
    timer.unref();
    this.#lingering.add(timer);
  }

  async #orphaned(auth: Authorization): Promise<void> {
    if (this.#sessions.has(auth.sessionId)) return;
    await this.#d.channels
      .publisherDisconnected({
        sessionId: auth.sessionId,
        ingestNode: this.#d.nodeId,
        connectionId: auth.connectionId,
      })
      .catch(() => undefined);
  }

  async #reportStats(): Promise<void> {
    await Promise.all(
      [...this.#sessions.values()].map(async (live) => {
        const thumb = live.thumbnails.jpeg
          ? `/live/${live.name}/thumbnail.jpg?v=${live.thumbnails.version}`
          : '';
        try {
          await this.#d.channels.updateLiveStats({
            sessionId: live.sessionId,
            viewerCount: this.viewers.count(live.name),
            thumbnailUrl: thumb,
          });
        } catch (err) {
          this.#d.logger.warn({ err, session: live.sessionId }, 'could not report live stats');
        }
      }),
    );
  }
}
