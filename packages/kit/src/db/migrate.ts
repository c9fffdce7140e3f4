/**
 * Plain-SQL migrations per schema. Every step runs in a transaction holding a
 * transaction-scoped advisory lock on the schema, so processes starting
 * together serialize instead of applying a file twice (or racing on
 * CREATE SCHEMA, which is not concurrency-safe even with IF NOT EXISTS).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Kysely, sql, type Transaction } from 'kysely';
import { AppError } from '../errors.ts';

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws AppError('invalid_argument') unless `schema` is a plain lowercase PostgreSQL identifier. */
export function assertSchemaName(schema: string): void {
  if (!schemaPattern.test(schema)) {
    throw new AppError(
      'invalid_argument',
      `invalid schema name ${JSON.stringify(schema)}: expected ${schemaPattern}`,
    );
  }
}

async function lockSchema(trx: Transaction<unknown>, schema: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${`wavecast.migrate.${schema}`}))`.execute(trx);
}

/** Applies the not-yet-applied `*.sql` files of `dir` to `schema`; returns the names applied now. */
export async function migrate(db: Kysely<unknown>, schema: string, dir: string): Promise<string[]> {
  assertSchemaName(schema);
  // Code-unit order, not locale order: `010_x.sql` after `009_y.sql` everywhere.
  const files = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const table = sql.table(`${schema}.schema_migrations`);

  await db.transaction().execute(async (trx) => {
    await lockSchema(trx, schema);
    await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
    await sql`create table if not exists ${table} (
      name text primary key,
      applied_at timestamptz not null default now()
    )`.execute(trx);
  });

  const applied: string[] = [];
  for (const file of files) {
    const script = await readFile(join(dir, file), 'utf8');
    const ran = await db.transaction().execute(async (trx) => {
      await lockSchema(trx, schema);
      const done = await sql`select 1 from ${table} where name = ${file}`.execute(trx);
      if (done.rows.length > 0) return false;
      await sql`set local search_path to ${sql.id(schema)}`.execute(trx);
      try {
        // No parameters: both drivers send it with the simple protocol, so a file may hold many statements.
        await sql.raw(script).execute(trx);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        const code = AppError.is(err, 'unavailable') ? 'unavailable' : 'internal';
        throw new AppError(code, `migration ${file} (schema ${schema}) failed: ${reason}`, { cause: err });
      }
      await sql`insert into ${table} (name) values (${file})`.execute(trx);
      return true;
    });
    if (ran) applied.push(file);
  }
  return applied;
}
