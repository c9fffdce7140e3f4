/**
 * The users service on a real database (PGlite, and PostgreSQL when it is
 * there) with the in-process bus: business rules, what is written (and what
 * is not), and the events relayed through the outbox.
 */
import { eventSchemas } from '@wavecast/contracts/events';
import { USERNAME } from '@wavecast/contracts/rules';
import { type Bus, type Envelope, openBus } from '@wavecast/kit/bus';
import { type Database, openDatabase } from '@wavecast/kit/db';
import { AppError, type ErrorCode, type FieldViolation } from '@wavecast/kit/errors';
import { typedEvents } from '@wavecast/kit/events';
import { createLogger } from '@wavecast/kit/log';
import { type Kysely, sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../packages/kit/test/support/db.ts';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import { createUsers, migrateUsers, type UserService } from '../src/index.ts';
import type { User } from '../src/user.model.ts';
import { USERS_SCHEMA, type UsersDb } from '../src/user.repository.ts';

const logger = createLogger({ service: 'users-test', level: 'silent' });

interface Backend {
  open(): Promise<{ db: Database; dispose(): Promise<void> }>;
}

const backends: [string, Backend][] = [
  [
    'PGlite',
    {
      async open() {
        const db = await openDatabase('pglite:memory');
        return { db, dispose: () => db.close() };
      },
    },
  ],
  [
    'PostgreSQL',
    {
      async open() {
        const testDb = await createTestDatabase();
        const db = await openDatabase(testDb.url);
        return {
          db,
          async dispose() {
            await db.close();
            await testDb.drop();
          },
        };
      },
    },
  ],
];

async function failure(promise: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  return err as AppError;
}

describe.each(backends)('users service on %s', (_name, backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  let tables: Kysely<UsersDb>;
  let bus: Bus;
  let stop: () => Promise<void>;
  let users: UserService;

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    await migrateUsers(db);
    tables = db.kysely<UsersDb>(USERS_SCHEMA);
  });
  afterAll(async () => {
    await dispose?.();
  });

  /** A fresh service on emptied tables; `adminUsername` as WAVECAST_ADMIN_USERNAME would set it. */
  async function start(adminUsername?: string): Promise<void> {
    await stop?.();
    const instance = createUsers({ db, bus, logger, adminUsername });
    users = instance.service;
    stop = () => instance.stop();
  }

  beforeEach(async () => {
    await sql`truncate table users.users, users.outbox`.execute(db.kysely(USERS_SCHEMA));
    bus = await openBus('memory:');
    await start();
  });
  afterEach(async () => {
    await stop();
    await bus.close();
  });

  const countUsers = async () =>
    Number(
      (
        await tables
          .selectFrom('users')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const outboxTypes = async () =>
    (await tables.selectFrom('outbox').select('type').orderBy('id').execute()).map((r) => r.type);

  const create = (username: string, email = `${username.toLowerCase()}@example.com`) =>
    users.create({ username, email });

  async function adminAndUser(): Promise<{ admin: User; user: User }> {
    const admin = await create('ada');
    const user = await create('bob');
    return { admin, user };
  }

  describe('registration', () => {
    it('makes the first user an admin and later ones plain users', async () => {
      const first = await create('ada', ' Ada.Lovelace@Example.com ');
      expect(first).toMatchObject({
        username: 'ada',
        email: 'Ada.Lovelace@Example.com',
        role: 'admin',
        displayName: '',
        bio: '',
        avatarUrl: '',
        bannedAt: null,
        banReason: '',
      });
      expect(first.id).toMatch(/^usr_[0-9A-Z]{26}$/);
      expect(first.createdAt).toBeInstanceOf(Date);
      const second = await create('bob');
      expect(second.role).toBe('user');
      expect(await users.get(first.id)).toEqual(first);
      expect(await outboxTypes()).toEqual(['user.registered.v1', 'user.registered.v1']);
    });

    it('makes the configured admin username an admin, whatever its case', async () => {
      await start('Boss');
      expect((await create('ada')).role).toBe('admin');
      expect((await create('carl')).role).toBe('user');
      expect((await create('BOSS')).role).toBe('admin');
      expect((await create('bossy')).role).toBe('user');
    });

    it('gives exactly one of several simultaneous first registrations the admin role', async () => {
      const created = await Promise.all(['ada', 'bob', 'cy', 'dee', 'eve'].map((n) => create(`${n}_x`)));
      expect(created.filter((u) => u.role === 'admin')).toHaveLength(1);
    });

    it('refuses a taken username or email whatever the case, naming the field', async () => {
      await create('Ada', 'ada@example.com');
      const byName = await failure(create('aDA', 'other@example.com'), 'already_exists');
      expect(byName.fields).toEqual([{ field: 'username', message: 'is taken' }]);
      const byEmail = await failure(create('bob', 'ADA@EXAMPLE.COM'), 'already_exists');
      expect(byEmail.fields).toEqual([{ field: 'email', message: 'is already registered' }]);
      expect(await countUsers()).toBe(1);
      expect(await outboxTypes()).toEqual(['user.registered.v1']);
      // The failed attempts left no lock or half transaction behind.
      expect((await create('bob')).role).toBe('user');
    });

    const badUsername = [{ field: 'username', message: `must be ${USERNAME.description}` }];
    const invalid: [string, { username: string; email: string }, FieldViolation[]][] = [
      ['a username starting with a digit', { username: '1ada', email: 'a@example.com' }, badUsername],
      ['a short username', { username: 'ab', email: 'a@example.com' }, badUsername],
      ['a long username', { username: `a${'b'.repeat(30)}`, email: 'a@example.com' }, badUsername],
      ['a username with a space', { username: 'ada lovelace', email: 'a@example.com' }, badUsername],
      [
        'a username with a control character',
        { username: 'ada\u0007x', email: 'a@example.com' },
        badUsername,
      ],
      [
        'a reserved username, in any case',
        { username: 'Admin_Panel', email: 'a@example.com' },
        [{ field: 'username', message: 'is reserved' }],
      ],
      [
        'an email without @',
        { username: 'ada', email: 'ada.example.com' },
        [{ field: 'email', message: 'must be a valid email address' }],
      ],
      [
        'an email without a dot in the domain',
        { username: 'ada', email: 'ada@localhost' },
        [{ field: 'email', message: 'must be a valid email address' }],
      ],
      [
        'an email that is too long',
        { username: 'ada', email: `${'a'.repeat(64)}@${'b'.repeat(190)}.com` },
        [{ field: 'email', message: 'must be a valid email address' }],
      ],
      [
        'both at once',
        { username: 'Support', email: 'nope' },
        [
          { field: 'username', message: 'is reserved' },
          { field: 'email', message: 'must be a valid email address' },
        ],
      ],
    ];

    it.each(invalid)('refuses %s and writes nothing', async (_what, input, fields) => {
      const err = await failure(users.create(input), 'invalid_argument');
      expect(err.fields).toEqual(fields);
      expect(err.message).toBe(fields.map((f) => `${f.field} ${f.message}`).join('; '));
      expect(await countUsers()).toBe(0);
      expect(await outboxTypes()).toEqual([]);
    });

    it('still makes the first valid user the admin after refused attempts', async () => {
      await failure(create('me'), 'invalid_argument');
      expect((await create('ada')).role).toBe('admin');
    });
  });

  describe('lookups', () => {
    it('finds users by id, username or email, case-insensitively', async () => {
      const ada = await create('Ada', 'Ada@Example.com');
      expect((await users.getByUsername('ADA')).id).toBe(ada.id);
      expect((await users.getByEmail('ada@example.COM')).id).toBe(ada.id);
      await failure(users.get('usr_01JD3Q8W5X6Y7Z8A9B0C1D2E3F'), 'not_found');
      await failure(users.getByUsername('nobody'), 'not_found');
      await failure(users.getByEmail('nobody@example.com'), 'not_found');
    });
  });

  describe('profiles', () => {
    it('updates the fields that are set and emits user.updated.v1', async () => {
      const ada = await create('ada');
      const updated = await users.updateProfile(ada.id, {
        displayName: 'Ada L.',
        bio: 'Counts.\nAnalytical engines.\tTabs too.',
        avatarUrl: 'https://example.com/ada.png',
      });
      expect(updated).toMatchObject({
        displayName: 'Ada L.',
        bio: 'Counts.\nAnalytical engines.\tTabs too.',
        avatarUrl: 'https://example.com/ada.png',
      });
      expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(ada.updatedAt.getTime());
      const partial = await users.updateProfile(ada.id, { bio: '' });
      expect(partial).toMatchObject({
        displayName: 'Ada L.',
        bio: '',
        avatarUrl: 'https://example.com/ada.png',
      });
      expect(await outboxTypes()).toEqual(['user.registered.v1', 'user.updated.v1', 'user.updated.v1']);
    });

    const badPatches: [string, Parameters<UserService['updateProfile']>[1], FieldViolation[]][] = [
      [
        'a bio over 500 characters',
        { bio: 'x'.repeat(501) },
        [{ field: 'bio', message: 'must be at most 500 characters' }],
      ],
      [
        'a display name over 50 characters',
        { displayName: 'x'.repeat(51) },
        [{ field: 'display_name', message: 'must be at most 50 characters' }],
      ],
      [
        'a control character in the display name',
        { displayName: 'Ada\u0007' },
        [{ field: 'display_name', message: 'must not contain control characters' }],
      ],
      [
        'a NUL in the bio',
        { bio: 'hello\u0000world' },
        [{ field: 'bio', message: 'must not contain control characters' }],
      ],
      [
        'a line break in the display name',
        { displayName: 'Ada\nLovelace' },
        [{ field: 'display_name', message: 'must be one line' }],
      ],
      [
        'a javascript: avatar',
        { avatarUrl: 'javascript:alert(1)' },
        [{ field: 'avatar_url', message: 'must be an http(s) URL' }],
      ],
      [
        'an ftp avatar',
        { avatarUrl: 'ftp://example.com/a.png' },
        [{ field: 'avatar_url', message: 'must be an http(s) URL' }],
      ],
      [
        'a relative avatar',
        { avatarUrl: '/a.png' },
        [{ field: 'avatar_url', message: 'must be an http(s) URL' }],
      ],
      [
        'several bad fields',
        { displayName: 'x'.repeat(51), bio: 'y'.repeat(501), avatarUrl: 'data:image/png;base64,AAAA' },
        [
          { field: 'display_name', message: 'must be at most 50 characters' },
          { field: 'bio', message: 'must be at most 500 characters' },
          { field: 'avatar_url', message: 'must be an http(s) URL' },
        ],
      ],
    ];

    it.each(badPatches)('refuses %s and changes nothing', async (_what, patch, fields) => {
      const ada = await create('ada');
      const err = await failure(users.updateProfile(ada.id, patch), 'invalid_argument');
      expect(err.fields).toEqual(fields);
      expect(await users.get(ada.id)).toEqual(ada);
      expect(await outboxTypes()).toEqual(['user.registered.v1']);
    });

    it('refuses to update a user that does not exist, writing no event', async () => {
      await failure(users.updateProfile('usr_01JD3Q8W5X6Y7Z8A9B0C1D2E3F', { bio: 'hi' }), 'not_found');
      expect(await outboxTypes()).toEqual([]);
    });
  });

  describe('bans and roles', () => {
    it('lets an admin ban and unban a user, idempotently', async () => {
      const { admin, user } = await adminAndUser();
      const banned = await users.ban(admin.id, user.id, 'spam');
      expect(banned.bannedAt).toBeInstanceOf(Date);
      expect(banned.banReason).toBe('spam');
      const again = await users.ban(admin.id, user.id, 'other reason');
      expect(again.bannedAt).toEqual(banned.bannedAt);
      expect(again.banReason).toBe('spam');

      const unbanned = await users.unban(admin.id, user.id);
      expect(unbanned).toMatchObject({ bannedAt: null, banReason: '' });
      expect((await users.unban(admin.id, user.id)).bannedAt).toBeNull();
      expect(await outboxTypes()).toEqual([
        'user.registered.v1',
        'user.registered.v1',
        'user.banned.v1',
        'user.unbanned.v1',
      ]);
    });

    it('refuses bans by anyone but an admin', async () => {
      const { admin, user } = await adminAndUser();
      const carl = await create('carl');
      const denied = await failure(users.ban(user.id, carl.id, 'no'), 'permission_denied');
      expect(denied.message).toBe('this needs the admin role');
      await failure(users.ban('', carl.id, 'no'), 'permission_denied');
      await failure(users.ban('usr_01JD3Q8W5X6Y7Z8A9B0C1D2E3F', carl.id, 'no'), 'permission_denied');
      await users.ban(admin.id, carl.id, 'first');
      await failure(users.unban(user.id, carl.id), 'permission_denied');
      expect((await users.get(carl.id)).bannedAt).not.toBeNull();
    });

    it('refuses banning yourself, an admin, or someone missing, and overlong reasons', async () => {
      const { admin, user } = await adminAndUser();
      const self = await failure(users.ban(admin.id, admin.id, 'oops'), 'failed_precondition');
      expect(self.message).toBe('you cannot ban yourself');
      const other = await users.setRole(admin.id, user.id, 'admin');
      expect(other.role).toBe('admin');
      const adminTarget = await failure(users.ban(admin.id, user.id, 'coup'), 'failed_precondition');
      expect(adminTarget.message).toBe('an admin cannot be banned');
      await failure(users.ban(admin.id, 'usr_01JD3Q8W5X6Y7Z8A9B0C1D2E3F', 'who'), 'not_found');
      const carl = await create('carl');
      const long = await failure(users.ban(admin.id, carl.id, 'r'.repeat(501)), 'invalid_argument');
      expect(long.fields).toEqual([{ field: 'reason', message: 'must be at most 500 characters' }]);
      expect((await users.get(carl.id)).bannedAt).toBeNull();
      expect((await outboxTypes()).filter((t) => t === 'user.banned.v1')).toEqual([]);
    });

    it('gives a banned user no admin powers, even if promoted', async () => {
      const { admin, user } = await adminAndUser();
      await users.ban(admin.id, user.id, 'rogue');
      expect((await users.setRole(admin.id, user.id, 'admin')).role).toBe('admin');
      await failure(users.list(user.id, { limit: 10 }), 'permission_denied');
      const carl = await create('carl');
      await failure(users.ban(user.id, carl.id, 'revenge'), 'permission_denied');
    });

    it('refuses removing your own admin role', async () => {
      const { admin } = await adminAndUser();
      const err = await failure(users.setRole(admin.id, admin.id, 'user'), 'failed_precondition');
      expect(err.message).toBe('you cannot remove your own admin role');
      expect((await users.get(admin.id)).role).toBe('admin');
    });
  });

  describe('events', () => {
    it('relays each change through the outbox to bus subscribers, with valid payloads', async () => {
      const received: Envelope[] = [];
      const record = async (_data: unknown, envelope: Envelope) => void received.push(envelope);
      await typedEvents(bus, eventSchemas).subscribe('watcher', {
        'user.registered.v1': record,
        'user.updated.v1': record,
        'user.banned.v1': record,
        'user.unbanned.v1': record,
        'user.deleted.v1': record,
      });
      const { admin, user } = await adminAndUser();
      await users.ban(admin.id, user.id, 'spam');
      await users.unban(admin.id, user.id);
      await users.updateProfile(user.id, { displayName: 'Bob' });
      await users.deleteRecent(user.id);

      await eventually(async () => expect(received).toHaveLength(6));
      expect(received.map((m) => m.type)).toEqual([
        'user.registered.v1',
        'user.registered.v1',
        'user.banned.v1',
        'user.unbanned.v1',
        'user.updated.v1',
        'user.deleted.v1',
      ]);
      expect(received.map((m) => m.data)).toEqual([
        { user_id: admin.id, username: 'ada', role: 'admin', created_at: admin.createdAt.toISOString() },
        { user_id: user.id, username: 'bob', role: 'user', created_at: user.createdAt.toISOString() },
        expect.objectContaining({ user_id: user.id, username: 'bob', reason: 'spam', banned_by: admin.id }),
        expect.objectContaining({ user_id: user.id, unbanned_by: admin.id }),
        expect.objectContaining({ user_id: user.id, username: 'bob' }),
        expect.objectContaining({ user_id: user.id, username: 'bob' }),
      ]);
      // Envelope ids are the outbox row ids, so a redelivery is recognisable.
      const ids = (await tables.selectFrom('outbox').select('id').orderBy('id').execute()).map((r) => r.id);
      expect(received.map((m) => m.id)).toEqual(ids);
      expect(await bus.deadLetters('watcher')).toEqual([]);
      await eventually(async () => {
        const pending = await tables
          .selectFrom('outbox')
          .select('id')
          .where('published_at', 'is', null)
          .execute();
        expect(pending).toEqual([]);
      });
    });
  });

  describe('listing', () => {
    async function population() {
      const admin = await create('ada');
      const made = [admin];
      for (const [username, email] of [
        ['a_b', 'ab@example.com'],
        ['axb', 'axb@example.com'],
        ['carl', 'p%q@example.com'],
        ['dora', 'pxq@example.com'],
        ['Eve', 'EVE@Example.com'],
      ] as const) {
        made.push(await create(username, email));
      }
      return { admin, made };
    }

    it('lists newest first, in pages', async () => {
      const { admin, made } = await population();
      const newestFirst = made.map((u) => u.id).reverse();
      const first = await users.list(admin.id, { limit: 4 });
      expect(first.map((u) => u.id)).toEqual(newestFirst.slice(0, 4));
      const second = await users.list(admin.id, { limit: 4, beforeId: first.at(-1)!.id });
      expect(second.map((u) => u.id)).toEqual(newestFirst.slice(4));
    });

    it('filters by ban state', async () => {
      const { admin, made } = await population();
      await users.ban(admin.id, made[2]!.id, 'x');
      await users.ban(admin.id, made[4]!.id, 'y');
      const banned = await users.list(admin.id, { limit: 10, banned: true });
      expect(banned.map((u) => u.username)).toEqual(['dora', 'axb']);
      const notBanned = await users.list(admin.id, { limit: 10, banned: false });
      expect(notBanned.map((u) => u.username)).toEqual(['Eve', 'carl', 'a_b', 'ada']);
    });

    it('matches a case-insensitive prefix of username or email', async () => {
      const { admin } = await population();
      const names = async (query: string) =>
        (await users.list(admin.id, { limit: 10, query })).map((u) => u.username);
      expect(await names('EV')).toEqual(['Eve']);
      expect(await names('eve@example')).toEqual(['Eve']);
      expect(await names('a')).toEqual(['axb', 'a_b', 'ada']);
      expect(await names('xb')).toEqual([]);
    });

    it('treats % and _ in the query literally', async () => {
      const { admin } = await population();
      const names = async (query: string) =>
        (await users.list(admin.id, { limit: 10, query })).map((u) => u.username);
      expect(await names('a_')).toEqual(['a_b']);
      expect(await names('p%')).toEqual(['carl']);
      expect(await names('%')).toEqual([]);
      expect(await names('_')).toEqual([]);
      expect(await names('\\')).toEqual([]);
    });

    it('is for admins only', async () => {
      const { made } = await population();
      await failure(users.list(made[1]!.id, { limit: 10 }), 'permission_denied');
    });
  });

  describe('undoing a registration', () => {
    it('deletes a user created moments ago', async () => {
      const { user } = await adminAndUser();
      await users.deleteRecent(user.id);
      await failure(users.get(user.id), 'not_found');
      expect(await outboxTypes()).toEqual(['user.registered.v1', 'user.registered.v1', 'user.deleted.v1']);
      // Undoing twice is harmless.
      await users.deleteRecent(user.id);
      expect((await outboxTypes()).filter((t) => t === 'user.deleted.v1')).toHaveLength(1);
    });

    it('refuses to delete a user older than a few minutes', async () => {
      const { user } = await adminAndUser();
      await tables
        .updateTable('users')
        .set({ created_at: sql<Date>`now() - interval '6 minutes'` })
        .where('id', '=', user.id)
        .execute();
      const err = await failure(users.deleteRecent(user.id), 'failed_precondition');
      expect(err.message).toBe('only a user created in the last few minutes can be deleted');
      expect((await users.get(user.id)).id).toBe(user.id);
      expect(await outboxTypes()).not.toContain('user.deleted.v1');
    });
  });
});
