import type { Database } from '@wavecast/kit/db';
import { isUniqueViolation } from '@wavecast/kit/db';
import { AppError } from '@wavecast/kit/errors';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Channel, ChannelPatch } from './channel.model.ts';
import { CHANNELS_SCHEMA, type ChannelsDb, type ChannelsTable, type Executor } from './tables.ts';

/** A channel with its sealed stream key, as stored. */
export interface StoredChannel extends Channel {
  streamKeySealed: Buffer;
}

function toChannel(row: Selectable<ChannelsTable>): StoredChannel {
  return {
    id: row.id,
    ownerId: row.owner_id,
    name: row.name,
    title: row.title,
    category: row.category,
    disabled: row.disabled,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    streamKeySealed: Buffer.from(row.stream_key_sealed),
  };
}

/** SQL on the channels table; one method per query. */
export class ChannelRepository {
  readonly db: Kysely<ChannelsDb>;

  constructor(database: Database) {
    this.db = database.kysely<ChannelsDb>(CHANNELS_SCHEMA);
  }

  transaction<T>(fn: (trx: Transaction<ChannelsDb>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  /** Inserts the owner's channel; undefined when the owner already has one (a concurrent first call). */
  async insert(
    db: Executor,
    channel: { id: string; ownerId: string; name: string; title: string; keyHash: Buffer; keySealed: Buffer },
  ): Promise<StoredChannel | undefined> {
    try {
      const row = await db
        .insertInto('channels')
        .values({
          id: channel.id,
          owner_id: channel.ownerId,
          name: channel.name,
          title: channel.title,
          stream_key_hash: channel.keyHash,
          stream_key_sealed: channel.keySealed,
        })
        .onConflict((oc) => oc.column('owner_id').doNothing())
        .returningAll()
        .executeTakeFirst();
      return row && toChannel(row);
    } catch (err) {
      if (isUniqueViolation(err, 'channels_name_key')) {
        throw new AppError('already_exists', 'another channel already has this name');
      }
      throw err;
    }
  }

  async findByOwner(db: Executor, ownerId: string): Promise<StoredChannel | undefined> {
    const row = await db
      .selectFrom('channels')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    return row && toChannel(row);
  }

  async findByName(name: string): Promise<StoredChannel | undefined> {
    const row = await this.db.selectFrom('channels').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toChannel(row);
  }

  async findById(db: Executor, id: string): Promise<StoredChannel | undefined> {
    const row = await db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toChannel(row);
  }

  /** The channel of a stream key's lookup hash; `lock` holds the row until the transaction ends. */
  async findByKeyHash(db: Executor, hash: Buffer, lock = false): Promise<StoredChannel | undefined> {
    let q = db.selectFrom('channels').selectAll().where('stream_key_hash', '=', hash);
    if (lock) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && toChannel(row);
  }

  async update(db: Executor, ownerId: string, patch: ChannelPatch): Promise<StoredChannel | undefined> {
    const row = await db
      .updateTable('channels')
      .set({
        ...(patch.title !== undefined && { title: patch.title }),
        ...(patch.category !== undefined && { category: patch.category }),
        updated_at: new Date(),
      })
      .where('owner_id', '=', ownerId)
      .returningAll()
      .executeTakeFirst();
    return row && toChannel(row);
  }

  async setStreamKey(
    db: Executor,
    ownerId: string,
    key: { hash: Buffer; sealed: Buffer },
  ): Promise<StoredChannel | undefined> {
    const now = new Date();
    const row = await db
      .updateTable('channels')
      .set({
        stream_key_hash: key.hash,
        stream_key_sealed: key.sealed,
        stream_key_rotated_at: now,
        updated_at: now,
      })
      .where('owner_id', '=', ownerId)
      .returningAll()
      .executeTakeFirst();
    return row && toChannel(row);
  }

  /**
   * Disables (ban) or enables (unban) the owner's channel, unless a ban or
   * unban at `at` or later was applied already: events may arrive twice or
   * out of order. Undefined when nothing changed.
   */
  async setOwnerState(
    db: Executor,
    ownerId: string,
    state: { disabled: boolean; at: Date },
  ): Promise<StoredChannel | undefined> {
    const row = await db
      .updateTable('channels')
      .set({ disabled: state.disabled, owner_state_at: state.at, updated_at: new Date() })
      .where('owner_id', '=', ownerId)
      .where((eb) => eb.or([eb('owner_state_at', 'is', null), eb('owner_state_at', '<', state.at)]))
      .returningAll()
      .executeTakeFirst();
    return row && toChannel(row);
  }
}
