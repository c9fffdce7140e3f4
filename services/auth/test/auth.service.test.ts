/**
 * The auth service wired as in the all-in-one process: PGlite, the in-memory
 * cache and bus, and the real users service reached through the in-process
 * ConnectRPC transport. Argon2 runs at its lowest allowed cost to stay fast.
 */
import { createHash } from 'node:crypto';
import { Role } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import { type Bus, openBus } from '@wavecast/kit/bus';
import { type Cache, openCache } from '@wavecast/kit/cache';
import { loadConfig } from '@wavecast/kit/config';
import { type Database, openDatabase } from '@wavecast/kit/db';
import { AppError, type ErrorCode } from '@wavecast/kit/errors';
import { createLogger } from '@wavecast/kit/log';
import { createMetrics } from '@wavecast/kit/metrics';
import { inProcessTransport, serverInterceptors } from '@wavecast/kit/rpc';
import { TokenVerifier } from '@wavecast/kit/tokens';
import { createUsers, migrateUsers, type UserService } from '@wavecast/users';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../packages/kit/test/support/db.ts';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import type { AuthService, Session } from '../src/auth.service.ts';
import { authConfigSpec, createAuth, migrateAuth } from '../src/index.ts';

const logger = createLogger({ service: 'auth-test', level: 'silent' });
const PASSWORD = 'correct horse battery';

/** The lowest argon2 cost the configuration allows. */
const cheap = { AUTH_ARGON2_MEMORY_KIB: '8192', AUTH_ARGON2_ITERATIONS: '1' };

async function failure(promise: Promise<unknown>, code: ErrorCode, message?: string): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  if (message !== undefined) expect((err as AppError).message).toBe(message);
  return err as AppError;
}

interface Wiring {
  auth: AuthService;
  users: UserService;
  stop(): Promise<void>;
}

/** users + auth on shared adapters, auth calling users through real ConnectRPC handlers in memory. */
async function wire(db: Database, cache: Cache, bus: Bus, env: Record<string, string> = {}): Promise<Wiring> {
  const metrics = createMetrics({ defaultMetrics: false });
  const users = createUsers({ db, bus, logger });
  const transport = inProcessTransport(
    users.routes,
    serverInterceptors({ service: 'users', logger, metrics }),
    {
      caller: 'auth',
      logger,
      metrics,
    },
  );
  const config = loadConfig(authConfigSpec, { ...cheap, ...env });
  const auth = await createAuth({ db, cache, bus, logger, users: transport, config });
  return {
    auth: auth.service,
    users: users.service,
    async stop() {
      await auth.stop();
      await users.stop();
    },
  };
}

describe('auth service', () => {
  let db: Database;
  let cache: Cache;
  let bus: Bus;
  let wiring: Wiring;
  let auth: AuthService;
  let verifier: TokenVerifier;

  beforeAll(async () => {
    db = await openDatabase('pglite:memory');
    await migrateUsers(db);
    await migrateAuth(db);
  });
  afterAll(async () => {
    await db?.close();
  });

  async function start(env: Record<string, string> = {}): Promise<void> {
    await wiring?.stop();
    wiring = await wire(db, cache, bus, env);
    auth = wiring.auth;
    verifier = new TokenVerifier({ fetchJwks: async () => auth.jwks(), cache });
  }

  beforeEach(async () => {
    await sql`truncate table users.users, users.outbox, auth.credentials, auth.sessions, auth.refresh_tokens`.execute(
      db.kysely('auth'),
    );
    cache = await openCache('memory:');
    bus = await openBus('memory:');
    await start();
  });
  afterEach(async () => {
    await wiring.stop();
    await bus.close();
    await cache.close();
  });

  const register = (username: string, password = PASSWORD, clientIp = '10.0.0.1') =>
    auth.register({ username, email: `${username}@example.com`, password, clientIp });
  const login = (login: string, password = PASSWORD, clientIp = '10.0.0.1') =>
    auth.login({ login, password, clientIp });
  const count = async (table: string) =>
    Number(
      (await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db.kysely('auth')))
        .rows[0]!.n,
    );

  describe('register', () => {
    it('creates the user and opens a session with a verifiable token pair', async () => {
      const { user, tokens } = await register('ada');
      expect(user).toMatchObject({
        username: 'ada',
        email: 'ada@example.com',
        role: Role.ADMIN,
        banned: false,
      });
      expect(tokens.expiresIn).toBe(900);
      expect(tokens.refreshToken).toMatch(/^rtk_[0-9A-Z]{26}\.[A-Za-z0-9_-]{43}$/);
      const claims = await verifier.verify(tokens.accessToken);
      expect(claims).toMatchObject({ sub: user!.id, role: 'admin', name: 'ada' });
      expect(claims.sid).toMatch(/^ses_/);
      expect(claims.exp - claims.iat).toBe(900);

      const second = await register('bob');
      expect(second.user?.role).toBe(Role.USER);
      expect((await verifier.verify(second.tokens.accessToken)).role).toBe('user');
      expect(await count('auth.credentials')).toBe(2);
    });

    it('refuses a weak password before creating anything', async () => {
      const err = await failure(register('ada', 'ada'), 'invalid_argument');
      expect(err.fields).toEqual([{ field: 'password', message: 'must be at least 8 characters' }]);
      await failure(register('ada', 'password123'), 'invalid_argument', 'password is too common');
      expect(await count('users.users')).toBe(0);
      expect(await count('auth.credentials')).toBe(0);
    });

    it('passes a taken username or email back with its field, leaving no credentials behind', async () => {
      await register('ada');
      const byName = await failure(
        auth.register({ username: 'ADA', email: 'other@example.com', password: PASSWORD, clientIp: '' }),
        'already_exists',
      );
      expect(byName.fields).toEqual([{ field: 'username', message: 'is taken' }]);
      const byEmail = await failure(
        auth.register({ username: 'bob', email: 'Ada@Example.com', password: PASSWORD, clientIp: '' }),
        'already_exists',
      );
      expect(byEmail.fields).toEqual([{ field: 'email', message: 'is already registered' }]);
      expect(await count('auth.credentials')).toBe(1);
      expect(await count('auth.sessions')).toBe(1);
    });
  });

  describe('login', () => {
    it('opens a new session by username or email, in any case', async () => {
      const registered = await register('ada');
      const byName = await login('ADA');
      const byEmail = await login('  ada@EXAMPLE.com ');
      for (const s of [byName, byEmail]) expect(s.user?.id).toBe(registered.user!.id);
      const sids = await Promise.all(
        [registered, byName, byEmail].map(async (s) => (await verifier.verify(s.tokens.accessToken)).sid),
      );
      expect(new Set(sids).size).toBe(3);
      expect(await count('auth.sessions')).toBe(3);
    });

    it('gives the same answer for a wrong password and an unknown account', async () => {
      await register('ada');
      const wrong = 'wrong username, email or password';
      await failure(login('ada', 'not the password'), 'unauthenticated', wrong);
      await failure(login('nobody'), 'unauthenticated', wrong);
      await failure(login('nobody@example.com'), 'unauthenticated', wrong);
      await failure(login('', PASSWORD), 'unauthenticated', wrong);
      await failure(login('ada', ''), 'unauthenticated', wrong);
      expect(await count('auth.sessions')).toBe(1);
    });

    it('upgrades a hash made with a lower cost than configured', async () => {
      const { user } = await register('ada');
      const before = await db
        .kysely<any>('auth')
        .selectFrom('credentials')
        .select('password_hash')
        .where('user_id', '=', user!.id)
        .executeTakeFirstOrThrow();
      expect(before.password_hash).toMatch(/^\$argon2id\$v=19\$m=8192,t=1,p=1\$/);
      await start({ AUTH_ARGON2_ITERATIONS: '2' });
      await login('ada');
      const after = await db
        .kysely<any>('auth')
        .selectFrom('credentials')
        .select('password_hash')
        .where('user_id', '=', user!.id)
        .executeTakeFirstOrThrow();
      expect(after.password_hash).toMatch(/^\$argon2id\$v=19\$m=8192,t=2,p=1\$/);
      await login('ada');
    });
  });

  describe('refresh', () => {
    it('exchanges a refresh token for a new pair in the same session', async () => {
      const first = await register('ada');
      const next = await auth.refresh(first.tokens.refreshToken);
      expect(next.user?.username).toBe('ada');
      expect(next.tokens.refreshToken).not.toBe(first.tokens.refreshToken);
      const [a, b] = await Promise.all([first, next].map((s) => verifier.verify(s.tokens.accessToken)));
      expect(b!.sid).toBe(a!.sid);
      expect(b!.jti).not.toBe(a!.jti);
      const third = await auth.refresh(next.tokens.refreshToken);
      expect((await verifier.verify(third.tokens.accessToken)).sid).toBe(a!.sid);
    });

    it('ends the whole session when a used refresh token comes back', async () => {
      const first = await register('ada');
      const next = await auth.refresh(first.tokens.refreshToken);
      await failure(
        auth.refresh(first.tokens.refreshToken),
        'unauthenticated',
        'refresh token was already used; the session has been ended',
      );
      // The thief's successor and the access tokens of the family die with it.
      await failure(auth.refresh(next.tokens.refreshToken), 'unauthenticated', 'this session has ended');
      await failure(verifier.verify(next.tokens.accessToken), 'unauthenticated', 'token has been revoked');
      await failure(verifier.verify(first.tokens.accessToken), 'unauthenticated', 'token has been revoked');
      const [session] = await db.kysely<any>('auth').selectFrom('sessions').selectAll().execute();
      expect(session).toMatchObject({ revoke_reason: 'refresh token reuse' });
      expect(session?.revoked_at).toBeInstanceOf(Date);
      // Other sessions of the same user are untouched.
      const other = await login('ada');
      await expect(auth.refresh(other.tokens.refreshToken)).resolves.toMatchObject({
        user: { username: 'ada' },
      });
    });

    it('lets exactly one of two simultaneous uses of a token through, and then ends the session', async () => {
      const { tokens } = await register('ada');
      const results = await Promise.allSettled([
        auth.refresh(tokens.refreshToken),
        auth.refresh(tokens.refreshToken),
        auth.refresh(tokens.refreshToken),
      ]);
      const won = results.filter((r): r is PromiseFulfilledResult<Session> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(2);
      for (const r of lost) {
        expect(r.reason).toMatchObject({
          code: 'unauthenticated',
          message: 'refresh token was already used; the session has been ended',
        });
      }
      // A second use is indistinguishable from theft, so even the winner's new pair is dead.
      const winner = won[0]!.value;
      await failure(auth.refresh(winner.tokens.refreshToken), 'unauthenticated', 'this session has ended');
      await failure(verifier.verify(winner.tokens.accessToken), 'unauthenticated', 'token has been revoked');
      expect(await count('auth.refresh_tokens')).toBe(2);
    });

    it('refuses malformed, forged and expired refresh tokens', async () => {
      const { tokens } = await register('ada');
      const invalid = 'refresh token is invalid or expired';
      const [id, secret] = tokens.refreshToken.split('.') as [string, string];
      const forged = `${id}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
      for (const token of [
        '',
        'nonsense',
        `${id}.`,
        `${id}.short`,
        forged,
        `rtk_01JD3Q8W5X6Y7Z8A9B0C1D2E3F.${secret}`,
      ]) {
        await failure(auth.refresh(token), 'unauthenticated', invalid);
      }
      // A forged secret is not a reuse: the real token still works...
      const next = await auth.refresh(tokens.refreshToken);
      // ...until it expires.
      await db
        .kysely<any>('auth')
        .updateTable('refresh_tokens')
        .set({ expires_at: sql`now() - interval '1 second'` })
        .execute();
      await failure(auth.refresh(next.tokens.refreshToken), 'unauthenticated', invalid);
    });

    it('stores only a hash of the refresh token’s secret', async () => {
      const { tokens } = await register('ada');
      const next = await auth.refresh(tokens.refreshToken);
      for (const token of [tokens.refreshToken, next.tokens.refreshToken]) {
        const [id, secret] = token.split('.') as [string, string];
        const dump = await sql<{ row: string }>`select t::text as row from auth.refresh_tokens t`.execute(
          db.kysely('auth'),
        );
        expect(dump.rows).toHaveLength(2);
        const text = dump.rows.map((r) => r.row).join('\n');
        expect(text).toContain(id);
        expect(text).not.toContain(secret);
        // Nor in any encoding of it: the stored bytes are SHA-256 of the secret.
        const stored = await db
          .kysely<any>('auth')
          .selectFrom('refresh_tokens')
          .select('secret_hash')
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        const digest = createHash('sha256').update(secret).digest();
        expect(Buffer.from(stored.secret_hash).equals(digest)).toBe(true);
        expect(text).not.toContain(Buffer.from(secret).toString('hex'));
      }
      const sessions = await sql<{ row: string }>`select s::text as row from auth.sessions s`.execute(
        db.kysely('auth'),
      );
      expect(sessions.rows.map((r) => r.row).join('\n')).not.toContain(tokens.refreshToken.split('.')[1]);
    });
  });

  describe('logout', () => {
    it('denies the access token and ends the session, not the user’s other sessions', async () => {
      const first = await register('ada');
      const other = await login('ada');
      await auth.logout(first.tokens.accessToken);
      await failure(verifier.verify(first.tokens.accessToken), 'unauthenticated', 'token has been revoked');
      await failure(auth.refresh(first.tokens.refreshToken), 'unauthenticated', 'this session has ended');
      await failure(auth.logout(first.tokens.accessToken), 'unauthenticated', 'token has been revoked');
      await expect(verifier.verify(other.tokens.accessToken)).resolves.toMatchObject({ name: 'ada' });
      await expect(auth.refresh(other.tokens.refreshToken)).resolves.toBeDefined();
    });

    it('refuses a token that is not valid', async () => {
      await register('ada');
      await failure(auth.logout('not-a-token'), 'unauthenticated', 'token is malformed');
    });
  });

  describe('bans', () => {
    it('refuses a banned user’s login with the right password, and their refresh', async () => {
      const admin = await register('ada');
      const bob = await register('bob');
      await wiring.users.ban(admin.user!.id, bob.user!.id, 'spam');
      await failure(login('bob'), 'permission_denied', 'this account is banned');
      // Wrong passwords still say only that.
      await failure(login('bob', 'not the password'), 'unauthenticated');
    });

    it('refuses a refresh by a user banned before the ban event arrived, ending the session', async () => {
      await register('ada');
      const bob = await register('bob');
      // Banned in the users table only, as if user.banned.v1 were still on its way.
      await db
        .kysely<any>('users')
        .updateTable('users')
        .set({ banned_at: new Date() })
        .where('id', '=', bob.user!.id)
        .execute();
      await failure(auth.refresh(bob.tokens.refreshToken), 'permission_denied', 'this account is banned');
      await failure(auth.refresh(bob.tokens.refreshToken), 'unauthenticated', 'this session has ended');
      await failure(verifier.verify(bob.tokens.accessToken), 'unauthenticated', 'token has been revoked');
    });

    it('ends every session of a user when user.banned.v1 arrives', async () => {
      const admin = await register('ada');
      const bob = await register('bob');
      const bobAgain = await login('bob');
      const carl = await register('carl');
      await wiring.users.ban(admin.user!.id, bob.user!.id, 'spam');

      // The outbox relays the event; auth consumes it from the bus.
      await eventually(async () => {
        await failure(verifier.verify(bob.tokens.accessToken), 'unauthenticated', 'token has been revoked');
      });
      await failure(
        verifier.verify(bobAgain.tokens.accessToken),
        'unauthenticated',
        'token has been revoked',
      );
      await failure(auth.refresh(bobAgain.tokens.refreshToken), 'unauthenticated', 'this session has ended');
      const sessions = await db
        .kysely<any>('auth')
        .selectFrom('sessions')
        .select(['user_id', 'revoke_reason'])
        .where('revoked_at', 'is not', null)
        .execute();
      expect(sessions).toEqual([
        { user_id: bob.user!.id, revoke_reason: 'user banned' },
        { user_id: bob.user!.id, revoke_reason: 'user banned' },
      ]);
      await expect(verifier.verify(carl.tokens.accessToken)).resolves.toMatchObject({ name: 'carl' });
      expect(await bus.deadLetters('auth')).toEqual([]);
    });

    it('handles a redelivered ban event idempotently', async () => {
      const admin = await register('ada');
      const bob = await register('bob');
      await auth.onUserBanned(bob.user!.id);
      await auth.onUserBanned(bob.user!.id);
      await failure(verifier.verify(bob.tokens.accessToken), 'unauthenticated', 'token has been revoked');
      await expect(verifier.verify(admin.tokens.accessToken)).resolves.toBeDefined();
    });
  });

  describe('login throttling', () => {
    it('locks an account after 5 failures, even for the right password', async () => {
      await register('ada');
      for (let n = 0; n < 5; n++)
        await failure(login(n % 2 ? 'ADA' : 'ada', 'wrong password'), 'unauthenticated');
      const locked = await failure(login('ada'), 'resource_exhausted');
      expect(locked.retryAfterSeconds).toBeGreaterThan(890);
      expect(locked.retryAfterSeconds).toBeLessThanOrEqual(900);
      expect(locked.message).toBe(`too many failed logins; try again in ${locked.retryAfterSeconds} s`);
      // From another address too: the account is what is locked.
      await failure(login('ada', PASSWORD, '10.9.9.9'), 'resource_exhausted');
      // Another account is not affected.
      await register('bob');
      await expect(login('bob')).resolves.toBeDefined();
    });

    it('counts failures against the account, whether it is named by username or email', async () => {
      await register('ada');
      for (const name of ['ada', 'ada@example.com', 'ADA', 'Ada@Example.com', 'ada']) {
        await failure(login(name, 'wrong password'), 'unauthenticated');
      }
      await failure(login('ada@example.com'), 'resource_exhausted');
      await failure(login('ada'), 'resource_exhausted');
      // Unknown logins are still counted, by the name given.
      for (let n = 0; n < 5; n++) await failure(login('nobody', 'wrong password'), 'unauthenticated');
      await failure(login('nobody', 'wrong password'), 'resource_exhausted');
    });

    it('starts counting again after a successful login', async () => {
      await register('ada');
      for (let n = 0; n < 4; n++) await failure(login('ada', 'wrong password'), 'unauthenticated');
      await login('ada');
      for (let n = 0; n < 4; n++) await failure(login('ada', 'wrong password'), 'unauthenticated');
      await expect(login('ada')).resolves.toBeDefined();
    });

    it('locks an address that fails across many accounts', async () => {
      await start({ AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS: '6' });
      await register('ada');
      for (let n = 0; n < 6; n++) await failure(login(`guess${n}`, 'wrong', '10.6.6.6'), 'unauthenticated');
      await failure(login('ada', PASSWORD, '10.6.6.6'), 'resource_exhausted');
      await expect(login('ada', PASSWORD, '10.1.1.1')).resolves.toBeDefined();
    });
  });

  describe('signing keys', () => {
    it('share one key between instances on the same database, and publish no private part', async () => {
      await sql`truncate table auth.signing_keys`.execute(db.kysely('auth'));
      await start();
      const other = await wire(db, cache, bus);
      try {
        expect(await count('auth.signing_keys')).toBe(1);
        const jwks = auth.jwks();
        expect(other.auth.jwks()).toEqual(jwks);
        expect(jwks.keys).toHaveLength(1);
        const [key] = jwks.keys;
        expect(Object.keys(key!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
        expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
        expect(key!.kid).toMatch(/^key_/);

        // A token from one instance verifies against the other's key set.
        const { tokens } = await register('ada');
        const elsewhere = new TokenVerifier({ fetchJwks: async () => other.auth.jwks(), cache });
        await expect(elsewhere.verify(tokens.accessToken)).resolves.toMatchObject({ name: 'ada' });
      } finally {
        await other.stop();
      }
    });

    it('create one key even when instances start at the same time on PostgreSQL', async () => {
      const testDb = await createTestDatabase();
      const pg = await openDatabase(testDb.url);
      try {
        await migrateUsers(pg);
        await migrateAuth(pg);
        const instances = await Promise.all([
          wire(pg, cache, bus),
          wire(pg, cache, bus),
          wire(pg, cache, bus),
        ]);
        const keys = await pg.kysely<any>('auth').selectFrom('signing_keys').selectAll().execute();
        expect(keys).toHaveLength(1);
        for (const i of instances) expect(i.auth.jwks().keys.map((k) => k.kid)).toEqual([keys[0]?.kid]);
        await Promise.all(instances.map((i) => i.stop()));
      } finally {
        await pg.close();
        await testDb.drop();
      }
    });
  });
});
