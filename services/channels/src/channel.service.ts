import { eventSchemas } from '@wavecast/contracts/events';
import { AppError } from '@wavecast/kit/errors';
import { newId } from '@wavecast/kit/ids';
import type { Logger } from '@wavecast/kit/log';
import { addEvent } from '@wavecast/kit/outbox';
import type { Transaction } from 'kysely';
import type { Channel, ChannelPatch, ChannelView, LiveEntry, LiveOrder } from './channel.model.ts';
import type { ChannelRepository, StoredChannel } from './channel.repository.ts';
import { normalisePatch, validateOwner, validatePatch } from './channel.validation.ts';
import type { LiveDirectory } from './live-directory.ts';
import type { SessionRepository } from './session.repository.ts';
import { newStreamKey, type StreamKeyVault } from './stream-key.ts';
import type { ChannelsDb } from './tables.ts';

export interface ChannelServiceDeps {
  channels: ChannelRepository;
  sessions: SessionRepository;
  directory: LiveDirectory;
  vault: StreamKeyVault;
  logger: Logger;
  /** Called after a commit that wrote events, so the outbox relays at once. */
  onEvents?: () => void;
}

/** The owner's view: the channel and its stream key. */
export interface OwnChannel extends ChannelView {
  streamKey: string;
}

const NAME = /^[a-z][a-z0-9_]{2,29}$/;
const MAX_PAGE = 100;

const notFound = () => new AppError('not_found', 'channel not found');
const strip = ({ streamKeySealed: _, ...channel }: StoredChannel): Channel => channel;

/** Channels, stream keys, the live directory's reads, and bans. Knows nothing of gRPC or HTTP. */
export class ChannelService {
  readonly #d: ChannelServiceDeps;

  constructor(deps: ChannelServiceDeps) {
    this.#d = deps;
  }

  async #write<T>(fn: (trx: Transaction<ChannelsDb>) => Promise<T>): Promise<T> {
    const result = await this.#d.channels.transaction(fn);
    this.#d.onEvents?.();
    return result;
  }

  /** The owner's channel with its key; the first call creates the channel. */
  async getOwn(ownerId: string, username: string): Promise<OwnChannel> {
    validateOwner(ownerId, username);
    const { channels, vault } = this.#d;
    let stored = await channels.findByOwner(channels.db, ownerId);
    if (!stored) {
      const id = newId('chn');
      const key = newStreamKey();
      stored =
        (await channels.insert(channels.db, {
          id,
          ownerId,
          name: username.toLowerCase(),
          title: `${username}'s stream`,
          keyHash: vault.lookupHash(key),
          keySealed: vault.seal(key, id),
        })) ?? (await channels.findByOwner(channels.db, ownerId));
      if (!stored) throw new AppError('internal', 'the channel vanished while it was being created');
    }
    return this.#own(stored);
  }

  async update(ownerId: string, input: ChannelPatch): Promise<ChannelView> {
    validateOwner(ownerId);
    const patch = normalisePatch(input);
    validatePatch(patch);
    const stored = await this.#d.channels.update(this.#d.channels.db, ownerId, patch);
    if (!stored) throw notFound();
    await this.#d.directory.patch(stored.id, { title: stored.title, category: stored.category });
    return this.#view(stored);
  }

  /** A new key; the old one stops authorizing with this commit. A live session goes on. */
  async rotateStreamKey(ownerId: string): Promise<OwnChannel> {
    validateOwner(ownerId);
    const { channels, vault } = this.#d;
    const existing = await channels.findByOwner(channels.db, ownerId);
    if (!existing) throw notFound();
    const key = newStreamKey();
    const stored = await channels.setStreamKey(channels.db, ownerId, {
      hash: vault.lookupHash(key),
      sealed: vault.seal(key, existing.id),
    });
    if (!stored) throw notFound();
    return { ...(await this.#view(stored)), streamKey: key };
  }

  /** The public view of a channel; a disabled channel is not found. */
  async getByName(name: string): Promise<ChannelView> {
    const lower = name.toLowerCase();
    const stored = NAME.test(lower) ? await this.#d.channels.findByName(lower) : undefined;
    if (!stored || stored.disabled) throw notFound();
    return this.#view(stored);
  }

  async listLive(input: {
    order: LiveOrder;
    pageSize: number;
    pageToken: string;
  }): Promise<{ entries: LiveEntry[]; nextPageToken: string }> {
    const limit = Math.min(Math.max(input.pageSize || 20, 1), MAX_PAGE);
    const offset = input.pageToken ? decodePageToken(input.pageToken, input.order) : 0;
    const page = await this.#d.directory.list(input.order, offset, limit);
    return {
      entries: page.entries,
      nextPageToken: page.more ? encodePageToken(input.order, offset + page.entries.length) : '',
    };
  }

  /**
   * Disables the owner's channel and asks the ingest to drop a live
   * publisher (stream.kick.v1); the channel leaves the directory at once.
   * Idempotent, and an older event than the state applied changes nothing.
   */
  async onOwnerBanned(ownerId: string, at: Date): Promise<void> {
    const { channels, sessions } = this.#d;
    const kicked = await this.#write(async (trx) => {
      const channel = await channels.setOwnerState(trx, ownerId, { disabled: true, at });
      if (!channel) return undefined;
      for (const session of await sessions.openOfChannel(trx, channel.id)) {
        await addEvent(trx, eventSchemas, 'stream.kick.v1', {
          session_id: session.id,
          channel_id: channel.id,
          channel: channel.name,
          ingest_node: session.ingestNode,
          reason: 'owner_banned',
        });
      }
      return channel;
    });
    if (!kicked) return;
    await this.#d.directory.remove(kicked.id);
    this.#d.logger.info({ channelId: kicked.id, ownerId }, 'disabled the channel of a banned owner');
  }

  async onOwnerUnbanned(ownerId: string, at: Date): Promise<void> {
    await this.#d.channels.setOwnerState(this.#d.channels.db, ownerId, { disabled: false, at });
  }

  async #view(stored: StoredChannel): Promise<ChannelView> {
    const live = await this.#d.directory.get(stored.id);
    return { channel: strip(stored), live };
  }

  async #own(stored: StoredChannel): Promise<OwnChannel> {
    const streamKey = this.#d.vault.open(stored.streamKeySealed, stored.id);
    if (streamKey === undefined) {
      this.#d.logger.warn({ channelId: stored.id }, 'stream key does not open with the configured secret');
      throw new AppError(
        'failed_precondition',
        'the stream key cannot be shown (the server secret changed); create a new one',
      );
    }
    return { ...(await this.#view(stored)), streamKey };
  }
}

/** Page tokens are opaque to clients: the order and the position of the next page. */
function encodePageToken(order: LiveOrder, offset: number): string {
  return Buffer.from(`${order}:${offset}`).toString('base64url');
}

function decodePageToken(token: string, order: LiveOrder): number {
  const [tokenOrder, position] = Buffer.from(token, 'base64url').toString().split(':');
  const offset = Number(position);
  if (tokenOrder !== order || !Number.isSafeInteger(offset) || offset < 0 || offset > 1_000_000) {
    throw new AppError('invalid_argument', 'page_token is not a token of this listing', {
      fields: [{ field: 'page_token', message: 'is not a token of this listing' }],
    });
  }
  return offset;
}
