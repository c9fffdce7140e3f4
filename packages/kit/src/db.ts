/**
 * The db port. One `Database` per process; each service works in its own
 * PostgreSQL schema through `kysely(schema)`. Adapters: PGlite (embedded,
 * `pglite:<dir>` or `pglite:memory`) and PostgreSQL (`postgres://…`).
 * Implementation lives in ./db/.
 */
import type { Kysely } from 'kysely';

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  /** A Kysely instance whose unqualified table names resolve in `schema`. */
  kysely<DB>(schema: string): Kysely<DB>;
  /**
   * Applies the `*.sql` files of `dir` (sorted by name) that have not run yet,
   * each in its own transaction with `search_path` set to `schema`, and
   * records them in `<schema>.schema_migrations`. Safe to run concurrently
   * from several processes. Returns the names applied now.
   */
  migrate(schema: string, dir: string): Promise<string[]>;
  /** Resolves when the database answers; throws AppError('unavailable') when not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export { isUniqueViolation, mapDbError, openDatabase } from './db/open.ts';
