import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Generated, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, isUniqueViolation, openDatabase } from '../src/db.ts';
import { AppError } from '../src/errors.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

interface Tables {
  items: { id: Generated<number>; name: string };
  counters: { id: number; value: number };
}

type Row = any;

/** Writes `files` into a fresh temp dir; returns its path. */
async function migrationDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wavecast-migrations-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const itemsMigrations = {
  // Written out of order on purpose: migrate must sort by name.
  '010_counter.sql': 'insert into counters (id, value) values (1, 0);',
  '001_items.sql': `create table items (id serial primary key, name text not null unique);
    create table counters (id int primary key, value int not null);`,
  '002_seed.sql': "insert into items (name) values ('seed');",
  'README.md': 'not a migration',
};

/** The behaviour every adapter must share; `open` returns a fresh Database for this suite. */
export function describeDatabaseContract(name: string, open: () => Promise<Database>): void {
  describe(`Database contract: ${name}`, () => {
    let db: Database;
    let dir: string;

    beforeAll(async () => {
      db = await open();
      dir = await migrationDir(itemsMigrations);
    });
    afterAll(async () => {
      await db?.close();
      await db?.close(); // idempotent
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('applies migrations in name order, once', async () => {
      expect(await db.migrate('app', dir)).toEqual(['001_items.sql', '002_seed.sql', '010_counter.sql']);
      expect(await db.migrate('app', dir)).toEqual([]);
      const { rows } = await sql<Row>`select name from app.schema_migrations order by name`.execute(
        db.kysely('app'),
      );
      expect(rows.map((r: Row) => r.name)).toEqual(['001_items.sql', '002_seed.sql', '010_counter.sql']);
    });

    it('rolls back a failing migration entirely and names the file', async () => {
      const bad = await migrationDir({
        '001_ok.sql': 'create table ok (id int);',
        '002_bad.sql': 'create table partial (id int);\nselect * from no_such_table;',
      });
      const error = await db.migrate('broken', bad).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(AppError);
      expect((error as Error).message).toContain('002_bad.sql');
      const check = sql<Row>`select to_regclass('broken.partial') as partial, to_regclass('broken.ok') as ok`;
      const [row] = (await check.execute(db.kysely('broken'))).rows;
      expect(row).toEqual({ partial: null, ok: 'broken.ok' });
      await rm(bad, { recursive: true, force: true });
    });

    it('rejects invalid schema names', async () => {
      await expect(db.migrate('Bad-Name', dir)).rejects.toMatchObject({ code: 'invalid_argument' });
      expect(() => db.kysely('x; drop table y')).toThrow(AppError);
      expect(db.kysely('app')).toBe(db.kysely('app'));
    });

    it('isolates schemas that have the same table names', async () => {
      await db.migrate('other', dir);
      await db.kysely<Tables>('other').insertInto('items').values({ name: 'only-in-other' }).execute();
      const names = async (schema: string) =>
        (await db.kysely<Tables>(schema).selectFrom('items').select('name').orderBy('name').execute()).map(
          (r) => r.name,
        );
      expect(await names('app')).toEqual(['seed']);
      expect(await names('other')).toEqual(['only-in-other', 'seed']);
    });

    it('does CRUD through kysely(schema)', async () => {
      const k = db.kysely<Tables>('app');
      const { id } = await k
        .insertInto('items')
        .values({ name: 'crud' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const updated = await k
        .updateTable('items')
        .set({ name: 'crud2' })
        .where('id', '=', id)
        .executeTakeFirst();
      expect(updated.numUpdatedRows).toBe(1n);
      expect(await k.selectFrom('items').select('name').where('id', '=', id).executeTakeFirst()).toEqual({
        name: 'crud2',
      });
      const deleted = await k.deleteFrom('items').where('id', '=', id).executeTakeFirst();
      expect(deleted.numDeletedRows).toBe(1n);
      // int8 comes back as a string on both adapters, as pg does it.
      const count = await k
        .selectFrom('items')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst();
      expect(count).toEqual({ n: '1' });
    });

    it('commits and rolls back transactions, keeping the schema', async () => {
      const k = db.kysely<Tables>('app');
      await k.transaction().execute((trx) => trx.insertInto('items').values({ name: 'committed' }).execute());
      const failed = k.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ name: 'rolled-back' }).execute();
        throw new Error('abort');
      });
      await expect(failed).rejects.toThrow('abort');
      const names = (await k.selectFrom('items').select('name').execute()).map((r) => r.name);
      expect(names).toContain('committed');
      expect(names).not.toContain('rolled-back');
    });

    it('keeps concurrent transactions apart', async () => {
      const k = db.kysely<Tables>('app');
      const increment = () =>
        k.transaction().execute(async (trx) => {
          const { value } = await trx
            .selectFrom('counters')
            .select('value')
            .where('id', '=', 1)
            .forUpdate()
            .executeTakeFirstOrThrow();
          await new Promise((done) => setTimeout(done, 1)); // invite interleaving
          await trx
            .updateTable('counters')
            .set({ value: value + 1 })
            .where('id', '=', 1)
            .execute();
        });
      await Promise.all(Array.from({ length: 20 }, increment));
      const row = await k.selectFrom('counters').select('value').where('id', '=', 1).executeTakeFirst();
      expect(row).toEqual({ value: 20 });
    });

    it('does not run an outside query inside another transaction', async () => {
      const k = db.kysely<Tables>('app');
      let inside!: () => void;
      const started = new Promise<void>((done) => {
        inside = done;
      });
      const tx = k.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ name: 'tx-row' }).execute();
        inside();
        await new Promise((done) => setTimeout(done, 20));
        throw new Error('rollback');
      });
      await started;
      await k.insertInto('items').values({ name: 'outside-row' }).execute();
      await expect(tx).rejects.toThrow('rollback');
      const names = (await k.selectFrom('items').select('name').execute()).map((r) => r.name);
      expect(names).toContain('outside-row');
      expect(names).not.toContain('tx-row');
    });

    it('recognises unique violations by constraint', async () => {
      const error = await db
        .kysely<Tables>('app')
        .insertInto('items')
        .values({ name: 'seed' })
        .execute()
        .catch((err: unknown) => err);
      expect(isUniqueViolation(error)).toBe(true);
      expect(isUniqueViolation(error, 'items_name_key')).toBe(true);
      expect(isUniqueViolation(error, 'other_key')).toBe(false);
      expect(isUniqueViolation(new Error('x'))).toBe(false);
    });

    it('answers ping', async () => {
      await expect(db.ping()).resolves.toBeUndefined();
    });
  });
}

describeDatabaseContract('pglite:memory', () => openDatabase('pglite:memory'));

describe('pglite on disk', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'wavecast-pglite-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  describeDatabaseContract('pglite:<dir>', () => openDatabase(`pglite:${join(root, 'contract')}`));

  it('keeps data across a reopen', async () => {
    const url = `pglite:${join(root, 'persist', 'nested')}`;
    const dir = await migrationDir(itemsMigrations);
    const first = await openDatabase(url);
    await first.migrate('app', dir);
    await first.kysely<Tables>('app').insertInto('items').values({ name: 'durable' }).execute();
    await first.close();

    const second = await openDatabase(url);
    expect(await second.migrate('app', dir)).toEqual([]);
    const names = await second.kysely<Tables>('app').selectFrom('items').select('name').execute();
    expect(names.map((r) => r.name)).toEqual(['seed', 'durable']);
    await second.close();
    await rm(dir, { recursive: true, force: true });
  });
});

describe('postgres', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.drop());

  describeDatabaseContract('postgres', () => openDatabase(testDb.url));
});
