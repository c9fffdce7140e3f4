/**
 * What our two Kysely drivers (PGlite, pg pool) share: PostgreSQL SQL,
 * transaction commands, and the dialect wiring. Each driver only says how to
 * acquire, run on and release a connection.
 */
import {
  CompiledQuery,
  createQueryId,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  sql,
  type TransactionSettings,
} from 'kysely';

/** Transaction and savepoint statements, identical on PGlite and PostgreSQL. */
export abstract class PostgresDriverBase implements Driver {
  abstract init(): Promise<void>;
  abstract acquireConnection(): Promise<DatabaseConnection>;
  abstract releaseConnection(connection: DatabaseConnection): Promise<void>;
  abstract destroy(): Promise<void>;

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let text = 'begin';
    if (settings.isolationLevel) text += ` isolation level ${settings.isolationLevel}`;
    if (settings.accessMode) text += ` ${settings.accessMode}`;
    await connection.executeQuery(CompiledQuery.raw(text));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(
    c: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await c.executeQuery(compile(sql`savepoint ${sql.id(name)}`.toOperationNode(), createQueryId()));
  }

  async rollbackToSavepoint(
    c: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await c.executeQuery(compile(sql`rollback to ${sql.id(name)}`.toOperationNode(), createQueryId()));
  }

  async releaseSavepoint(
    c: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await c.executeQuery(compile(sql`release ${sql.id(name)}`.toOperationNode(), createQueryId()));
  }
}

/** Kysely's `numAffectedRows`, which it expects only for data-changing commands. */
export function affectedRows(command: string | null | undefined, rowCount: number | null | undefined) {
  const changes = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
  return changes && rowCount != null ? BigInt(rowCount) : undefined;
}

/** Streaming would need cursors; neither adapter offers them yet, so say so instead of buffering silently. */
// biome-ignore lint/correctness/useYield: the generator exists only to reject.
export async function* noStreaming<R>(): AsyncIterableIterator<QueryResult<R>> {
  throw new Error('streaming queries are not supported by the Wavecast db port');
}

/** A Kysely dialect: PostgreSQL SQL generation with the given driver. */
export function postgresDialect(createDriver: () => Driver): Dialect {
  return {
    createDriver,
    createQueryCompiler: () => new PostgresQueryCompiler(),
    createAdapter: () => new PostgresAdapter(),
    createIntrospector: (db: Kysely<unknown>) => new PostgresIntrospector(db),
  };
}
