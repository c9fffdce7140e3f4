/**
 * `openDatabase(url)`: picks the adapter from the URL scheme and wraps it in
 * the `Database` port. Both adapters share one Kysely setup (PostgreSQL SQL,
 * our drivers), so services run unchanged on PGlite and PostgreSQL.
 */
import { Kysely, sql } from 'kysely';
import type { Database } from '../db.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { postgresDialect } from './dialect.ts';
import { mapDbError } from './errors.ts';
import { assertSchemaName, migrate } from './migrate.ts';
import { PGliteDriver, startPglite } from './pglite.ts';
import { startPostgres } from './postgres.ts';

export { isUniqueViolation, mapDbError } from './errors.ts';

export interface OpenDatabaseOptions {
  logger?: Logger;
  /** Maximum PostgreSQL connections (default 10); PGlite always has one. */
  poolSize?: number;
  /** PostgreSQL `statement_timeout` in ms (default 30 000). */
  statementTimeoutMs?: number;
  /** How long `ping()` waits for an answer (default 2 000 ms). */
  pingTimeoutMs?: number;
}

/**
 * Opens the database named by `url`: `pglite:memory`, `pglite:<dir>` (data
 * kept on disk in `<dir>`), or `postgres://…` / `postgresql://…` (a pool,
 * checked once so a bad URL fails here). Rejects with AppError
 * 'invalid_argument' for an unknown scheme and 'unavailable' when PostgreSQL
 * cannot be reached.
 */
export async function openDatabase(url: string, opts: OpenDatabaseOptions = {}): Promise<Database> {
  if (url.startsWith('pglite:')) {
    const target = url.slice('pglite:'.length);
    if (target === '')
      throw new AppError('invalid_argument', 'pglite URL needs a target: pglite:memory or pglite:<dir>');
    const pg = await startPglite(target);
    return wrap('pglite', new Kysely({ dialect: postgresDialect(() => new PGliteDriver(pg)) }), opts);
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const driver = await startPostgres(url, opts);
    return wrap('postgres', new Kysely({ dialect: postgresDialect(() => driver) }), opts);
  }
  // Only the scheme goes into the message: the rest may hold a password.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? '(none)';
  throw new AppError(
    'invalid_argument',
    `unsupported database URL scheme ${scheme}: expected pglite:memory, pglite:<dir>, postgres:// or postgresql://`,
  );
}

function wrap(kind: Database['kind'], db: Kysely<unknown>, opts: OpenDatabaseOptions): Database {
  // withSchema builds a new instance (and plugin); keep one per schema so callers can hold on to it cheaply.
  const bySchema = new Map<string, Kysely<unknown>>();
  const pingTimeoutMs = opts.pingTimeoutMs ?? 2_000;
  let closing: Promise<void> | undefined;

  return {
    kind,
    kysely<DB>(schema: string): Kysely<DB> {
      let scoped = bySchema.get(schema);
      if (!scoped) {
        assertSchemaName(schema);
        scoped = db.withSchema(schema);
        bySchema.set(schema, scoped);
      }
      return scoped as Kysely<DB>;
    },
    migrate: (schema, dir) => migrate(db, schema, dir),
    async ping() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new AppError('unavailable', `database did not answer within ${pingTimeoutMs} ms`)),
          pingTimeoutMs,
        );
      });
      try {
        await Promise.race([sql`select 1`.execute(db), timeout]);
      } catch (err) {
        const mapped = mapDbError(err);
        throw AppError.is(mapped, 'unavailable')
          ? mapped
          : new AppError('unavailable', 'database unavailable', { cause: err });
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      closing ??= db.destroy();
      return closing;
    },
  };
}
