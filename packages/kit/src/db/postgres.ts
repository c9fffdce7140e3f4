/**
 * Kysely driver over a pg Pool. Every error a connection raises goes through
 * `mapDbError`, so a lost server surfaces as AppError('unavailable') in every
 * repository, and a connection that failed that way is destroyed rather than
 * returned to the pool, so the pool heals by itself once the server is back.
 */
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely';
import pg from 'pg';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { affectedRows, noStreaming, PostgresDriverBase } from './dialect.ts';
import { describeConnectFailure, isConnectionError, mapDbError } from './errors.ts';

export interface PostgresOptions {
  logger?: Logger;
  poolSize?: number;
  /** Server-side `statement_timeout`; the client gives up 5 s later. Default 30 s. */
  statementTimeoutMs?: number;
}

class PgConnection implements DatabaseConnection {
  readonly #client: pg.PoolClient;
  #broken: Error | undefined;
  // A checked-out pg client emits 'error' when its socket dies; unhandled, that
  // would crash the process.
  readonly #onError = (err: Error) => {
    this.#broken ??= err;
  };

  constructor(client: pg.PoolClient) {
    this.#client = client;
    client.on('error', this.#onError);
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      const result = await this.#client.query(query.sql, [...query.parameters]);
      return {
        rows: (result.rows ?? []) as R[],
        numAffectedRows: affectedRows(result.command, result.rowCount),
      };
    } catch (err) {
      if (isConnectionError(err)) this.#broken ??= err as Error;
      throw mapDbError(err);
    }
  }

  streamQuery = noStreaming;

  release(): void {
    this.#client.off('error', this.#onError);
    // Passing an error makes pg-pool destroy the client instead of reusing it.
    this.#client.release(this.#broken);
  }
}

class PgPoolDriver extends PostgresDriverBase {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    super();
    this.#pool = pool;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    try {
      return new PgConnection(await this.#pool.connect());
    } catch (err) {
      throw mapDbError(err);
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as PgConnection).release();
  }

  async destroy(): Promise<void> {
    await this.#pool.end();
  }
}

/** Where a URL points, for messages: host and port only, never credentials. */
function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
    return `${host}:${parsed.port || '5432'}`;
  } catch {
    return 'the configured URL';
  }
}

/**
 * Creates a pool for `url` and checks that the server answers, so a wrong URL
 * fails at startup with a readable AppError('unavailable') rather than on the first request.
 */
export async function startPostgres(url: string, opts: PostgresOptions): Promise<PgPoolDriver> {
  const statementTimeout = opts.statementTimeoutMs ?? 30_000;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    statement_timeout: statementTimeout,
    // Catches a server that stopped answering without closing the socket.
    query_timeout: statementTimeout + 5_000,
    application_name: 'wavecast',
  });
  // An idle client losing its connection is reported here; without a listener the process would crash.
  pool.on('error', (err) => {
    opts.logger?.warn({ err: describeConnectFailure(err) }, 'idle PostgreSQL connection lost');
  });
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    const reason = describeConnectFailure(err);
    throw new AppError('unavailable', `cannot connect to PostgreSQL at ${describeTarget(url)}: ${reason}`, {
      cause: err,
    });
  }
  return new PgPoolDriver(pool);
}
