import type { Database } from '@wavecast/kit/db';
import type { OutboxTable } from '@wavecast/kit/outbox';
import { type Generated, type Kysely, sql, type Transaction } from 'kysely';

interface AuthTables extends OutboxTable {
  credentials: {
    user_id: string;
    password_hash: string;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  sessions: {
    id: string;
    user_id: string;
    client_ip: string;
    created_at: Generated<Date>;
    last_used_at: Generated<Date>;
    revoked_at: Date | null;
    revoke_reason: Generated<string>;
  };
  refresh_tokens: {
    id: string;
    session_id: string;
    secret_hash: Buffer;
    created_at: Generated<Date>;
    expires_at: Date;
    used_at: Date | null;
  };
  signing_keys: {
    kid: string;
    public_jwk: unknown;
    private_jwk: unknown;
    created_at: Generated<Date>;
    retired_at: Date | null;
  };
}

export const AUTH_SCHEMA = 'auth';

export interface StoredRefreshToken {
  id: string;
  sessionId: string;
  userId: string;
  secretHash: Buffer;
  expiresAt: Date;
  usedAt: Date | null;
  sessionRevokedAt: Date | null;
}

export interface StoredKey {
  kid: string;
  publicJwk: Record<string, unknown>;
  privateJwk: Record<string, unknown>;
  createdAt: Date;
  retiredAt: Date | null;
}

type Executor = Kysely<AuthTables> | Transaction<AuthTables>;

const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>;

/** All SQL of the auth service; one method per query. */
export class AuthRepository {
  readonly db: Kysely<AuthTables>;

  constructor(database: Database) {
    this.db = database.kysely<AuthTables>(AUTH_SCHEMA);
  }

  transaction<T>(fn: (trx: Transaction<AuthTables>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  async insertCredentials(userId: string, passwordHash: string): Promise<void> {
    await this.db
      .insertInto('credentials')
      .values({ user_id: userId, password_hash: passwordHash })
      .execute();
  }

  async findPasswordHash(userId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('credentials')
      .select('password_hash')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.password_hash;
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.db
      .updateTable('credentials')
      .set({ password_hash: passwordHash, updated_at: new Date() })
      .where('user_id', '=', userId)
      .execute();
  }

  async insertSession(
    db: Executor,
    session: { id: string; userId: string; clientIp: string },
  ): Promise<void> {
    await db
      .insertInto('sessions')
      .values({ id: session.id, user_id: session.userId, client_ip: session.clientIp })
      .execute();
  }

  async insertRefreshToken(
    db: Executor,
    token: { id: string; sessionId: string; secretHash: Buffer; expiresAt: Date },
  ): Promise<void> {
    await db
      .insertInto('refresh_tokens')
      .values({
        id: token.id,
        session_id: token.sessionId,
        secret_hash: token.secretHash,
        expires_at: token.expiresAt,
      })
      .execute();
  }

  async findRefreshToken(db: Executor, id: string): Promise<StoredRefreshToken | undefined> {
    const row = await db
      .selectFrom('refresh_tokens as t')
      .innerJoin('sessions as s', 's.id', 't.session_id')
      .select([
        't.id',
        't.session_id',
        's.user_id',
        't.secret_hash',
        't.expires_at',
        't.used_at',
        's.revoked_at',
      ])
      .where('t.id', '=', id)
      .executeTakeFirst();
    return (
      row && {
        id: row.id,
        sessionId: row.session_id,
        userId: row.user_id,
        secretHash: Buffer.from(row.secret_hash),
        expiresAt: row.expires_at,
        usedAt: row.used_at,
        sessionRevokedAt: row.revoked_at,
      }
    );
  }

  /** Marks a refresh token used; false when it already was (a concurrent or repeated use). */
  async markRefreshTokenUsed(db: Executor, id: string): Promise<boolean> {
    const result = await db
      .updateTable('refresh_tokens')
      .set({ used_at: new Date() })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  async touchSession(db: Executor, id: string): Promise<void> {
    await db.updateTable('sessions').set({ last_used_at: new Date() }).where('id', '=', id).execute();
  }

  async revokeSession(db: Executor, id: string, reason: string): Promise<void> {
    await db
      .updateTable('sessions')
      .set({ revoked_at: new Date(), revoke_reason: reason })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /** Ends every open session of a user; returns their ids. */
  async revokeUserSessions(userId: string, reason: string): Promise<string[]> {
    const rows = await this.db
      .updateTable('sessions')
      .set({ revoked_at: new Date(), revoke_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** Sessions of a user ended after `since` (their access tokens may still be unexpired). */
  async sessionsRevokedSince(userId: string, since: Date): Promise<string[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', userId)
      .where('revoked_at', '>', since)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Serialises signing-key creation across instances. */
  async lockKeys(trx: Transaction<AuthTables>): Promise<void> {
    await sql`select pg_advisory_xact_lock(hashtext('wavecast.auth.signing-keys'))`.execute(trx);
  }

  async listKeys(db: Executor = this.db): Promise<StoredKey[]> {
    const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').execute();
    return rows.map((r) => ({
      kid: r.kid,
      publicJwk: json(r.public_jwk),
      privateJwk: json(r.private_jwk),
      createdAt: r.created_at,
      retiredAt: r.retired_at,
    }));
  }

  async insertKey(db: Executor, key: { kid: string; publicJwk: object; privateJwk: object }): Promise<void> {
    await db
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        public_jwk: JSON.stringify(key.publicJwk),
        private_jwk: JSON.stringify(key.privateJwk),
      })
      .execute();
  }

  async deleteExpiredRefreshTokens(before: Date): Promise<void> {
    await this.db.deleteFrom('refresh_tokens').where('expires_at', '<', before).execute();
  }
}
