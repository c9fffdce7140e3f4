import type { Database } from '@wavecast/kit/db';
import { isUniqueViolation } from '@wavecast/kit/db';
import { AppError } from '@wavecast/kit/errors';
import type { OutboxTable } from '@wavecast/kit/outbox';
import { type Generated, type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { ProfilePatch, Role, User, UserFilter } from './user.model.ts';

interface UsersTable {
  id: string;
  username: string;
  email: string;
  display_name: Generated<string>;
  bio: Generated<string>;
  avatar_url: Generated<string>;
  role: Role;
  banned_at: Date | null;
  banned_by: string | null;
  ban_reason: Generated<string>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface UsersDb extends OutboxTable {
  users: UsersTable;
}

export const USERS_SCHEMA = 'users';

function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    displayName: row.display_name,
    bio: row.bio,
    avatarUrl: row.avatar_url,
    role: row.role,
    bannedAt: row.banned_at,
    banReason: row.ban_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

type Executor = Kysely<UsersDb> | Transaction<UsersDb>;

/** All SQL of the users service; one method per query. */
export class UserRepository {
  readonly db: Kysely<UsersDb>;

  constructor(database: Database) {
    this.db = database.kysely<UsersDb>(USERS_SCHEMA);
  }

  transaction<T>(fn: (trx: Transaction<UsersDb>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  /** Serialises "is this the first user?" decisions across processes. */
  async lockFirstUserDecision(trx: Transaction<UsersDb>): Promise<void> {
    await sql`select pg_advisory_xact_lock(hashtext('wavecast.users.first-user'))`.execute(trx);
  }

  async anyUserExists(db: Executor): Promise<boolean> {
    const row = await db.selectFrom('users').select('id').limit(1).executeTakeFirst();
    return row !== undefined;
  }

  async insert(
    db: Executor,
    user: { id: string; username: string; email: string; role: Role },
  ): Promise<User> {
    try {
      const row = await db.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow();
      return toUser(row);
    } catch (err) {
      if (isUniqueViolation(err, 'users_username_key')) {
        throw new AppError('already_exists', 'username is taken', {
          fields: [{ field: 'username', message: 'is taken' }],
        });
      }
      if (isUniqueViolation(err, 'users_email_key')) {
        throw new AppError('already_exists', 'email is already registered', {
          fields: [{ field: 'email', message: 'is already registered' }],
        });
      }
      throw err;
    }
  }

  async findById(id: string, db: Executor = this.db): Promise<User | undefined> {
    const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  async findByUsername(username: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where(sql<string>`lower(username)`, '=', username.toLowerCase())
      .executeTakeFirst();
    return row && toUser(row);
  }

  async findByEmail(email: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where(sql<string>`lower(email)`, '=', email.toLowerCase())
      .executeTakeFirst();
    return row && toUser(row);
  }

  async updateProfile(db: Executor, id: string, patch: ProfilePatch): Promise<User | undefined> {
    const row = await db
      .updateTable('users')
      .set({
        ...(patch.displayName !== undefined && { display_name: patch.displayName }),
        ...(patch.bio !== undefined && { bio: patch.bio }),
        ...(patch.avatarUrl !== undefined && { avatar_url: patch.avatarUrl }),
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toUser(row);
  }

  async setBan(
    db: Executor,
    id: string,
    ban: { at: Date; by: string; reason: string } | null,
  ): Promise<User | undefined> {
    const row = await db
      .updateTable('users')
      .set({
        banned_at: ban?.at ?? null,
        banned_by: ban?.by ?? null,
        ban_reason: ban?.reason ?? '',
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toUser(row);
  }

  async setRole(db: Executor, id: string, role: Role): Promise<User | undefined> {
    const row = await db
      .updateTable('users')
      .set({ role, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toUser(row);
  }

  async list(filter: UserFilter): Promise<User[]> {
    let q = this.db.selectFrom('users').selectAll().orderBy('id', 'desc').limit(filter.limit);
    if (filter.beforeId) q = q.where('id', '<', filter.beforeId);
    if (filter.banned !== undefined) q = q.where('banned_at', filter.banned ? 'is not' : 'is', null);
    if (filter.query) {
      const prefix = `${filter.query.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q = q.where((eb) =>
        eb.or([
          eb(sql<string>`lower(username)`, 'like', prefix),
          eb(sql<string>`lower(email)`, 'like', prefix),
        ]),
      );
    }
    return (await q.execute()).map(toUser);
  }

  async delete(db: Executor, id: string): Promise<User | undefined> {
    const row = await db.deleteFrom('users').where('id', '=', id).returningAll().executeTakeFirst();
    return row && toUser(row);
  }
}
