import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../src/db.ts';
import { AppError } from '../src/errors.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { eventually } from './support/poll.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';

describe('postgres adapter', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.drop());

  it('applies each migration once when two processes migrate together', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wavecast-migrations-'));
    const files = ['001_a.sql', '002_b.sql', '003_c.sql'];
    await writeFile(join(dir, files[0]!), 'create table a (id int); select pg_sleep(0.1);');
    await writeFile(join(dir, files[1]!), 'create table b (id int);');
    await writeFile(join(dir, files[2]!), 'insert into a values (1);');
    const [one, two] = await Promise.all([openDatabase(testDb.url), openDatabase(testDb.url)]);
    try {
      const [first, second] = await Promise.all([one!.migrate('race', dir), two!.migrate('race', dir)]);
      expect([...first, ...second].sort()).toEqual(files);
      const { rows } = await sql<{ n: string }>`select count(*) as n from race.a`.execute(
        one!.kysely('race'),
      );
      expect(rows).toEqual([{ n: '1' }]);
    } finally {
      await Promise.all([one!.close(), two!.close()]);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports unavailable while the server is unreachable and recovers by itself', async () => {
    const target = new URL(testDb.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(testDb.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const db: Database = await openDatabase(viaProxy.toString(), { poolSize: 3 });
    const selectOne = () => sql`select 1 as one`.execute(db.kysely('public'));
    try {
      await expect(selectOne()).resolves.toMatchObject({ rows: [{ one: 1 }] });

      await proxy.cut();
      await expect(selectOne()).rejects.toMatchObject({ name: 'AppError', code: 'unavailable' });
      await expect(db.ping()).rejects.toMatchObject({ code: 'unavailable' });
      const inTx = db
        .kysely('public')
        .transaction()
        .execute((trx) => sql`select 1`.execute(trx));
      await expect(inTx).rejects.toMatchObject({ code: 'unavailable' });

      await proxy.resume();
      await eventually(async () => {
        await selectOne();
      });
      await expect(db.ping()).resolves.toBeUndefined();
    } finally {
      await db.close();
      await proxy.close();
    }
  });

  it('rejects at open with a one-line unavailable error that hides the password', async () => {
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    const { port } = probe.address() as { port: number };
    await new Promise((done) => probe.close(done)); // now nothing listens there
    const error = await openDatabase(`postgres://postgres:s3cret-pw@127.0.0.1:${port}/postgres`).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'unavailable' });
    const { message } = error as AppError;
    expect(message).toBe(`cannot connect to PostgreSQL at 127.0.0.1:${port}: connect ECONNREFUSED`);
    expect(message).not.toContain('s3cret');
  });
});
