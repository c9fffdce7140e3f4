/**
 * Test fixture: a fresh PostgreSQL database per suite, so tests never depend
 * on (or disturb) whatever else lives on the server.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The admin URL tests use to create and drop their databases. */
export const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** URL of the new database, same credentials as the admin URL. */
  url: string;
  /** Terminates its connections and drops it. */
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates `wavecast_test_<random>` on the server named by `TEST_POSTGRES_URL`. */
export async function createTestDatabase(): Promise<TestDatabase> {
  // Random hex keeps the name a valid identifier, so interpolating it is safe.
  const name = `wavecast_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`create database "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      admin(async (client) => {
        await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [
          name,
        ]);
        await client.query(`drop database if exists "${name}"`);
      }),
  };
}
