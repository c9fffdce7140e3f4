/**
 * Our own Kysely driver for PGlite (the community dialect pins pglite < 0.5).
 * PGlite is a single connection, so the driver hands it out to one holder at a
 * time: a query from another async context waits instead of landing inside
 * someone else's BEGIN…COMMIT.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely';
import { affectedRows, noStreaming, PostgresDriverBase } from './dialect.ts';

/** A FIFO lock: `lock()` resolves with an unlock function once every earlier holder has unlocked. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  lock(): Promise<() => void> {
    let unlock!: () => void;
    const released = new Promise<void>((done) => {
      unlock = done;
    });
    const acquired = this.#tail.then(() => unlock);
    this.#tail = this.#tail.then(() => released);
    return acquired;
  }
}

class PGliteConnection implements DatabaseConnection {
  readonly #pg: PGlite;

  constructor(pg: PGlite) {
    this.#pg = pg;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // Without parameters use the simple protocol, as pg does: it accepts
    // several statements at once, which migration files need.
    if (query.parameters.length === 0) {
      const results = await this.#pg.exec(query.sql);
      const last = results.at(-1);
      return {
        rows: (last?.rows ?? []) as R[],
        numAffectedRows: affectedRows(last?.command, last?.rowCount),
      };
    }
    const result = await this.#pg.query<R>(query.sql, [...query.parameters]);
    return { rows: result.rows, numAffectedRows: affectedRows(result.command, result.rowCount) };
  }

  streamQuery = noStreaming;
}

/** Kysely driver over one PGlite instance; connections are handed out one at a time. */
export class PGliteDriver extends PostgresDriverBase {
  readonly #connection: PGliteConnection;
  readonly #pg: PGlite;
  readonly #mutex = new Mutex();
  readonly #unlocks: Array<() => void> = [];

  constructor(pg: PGlite) {
    super();
    this.#pg = pg;
    this.#connection = new PGliteConnection(pg);
  }

  async init(): Promise<void> {
    await this.#pg.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    this.#unlocks.push(await this.#mutex.lock());
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    // Only one holder exists at a time, so there is exactly one unlock pending.
    this.#unlocks.shift()?.();
  }

  async destroy(): Promise<void> {
    // Let the current holder finish its transaction before the engine goes away.
    const unlock = await this.#mutex.lock();
    try {
      if (!this.#pg.closed) await this.#pg.close();
    } finally {
      unlock();
    }
  }
}

/**
 * Starts PGlite in memory (`target === 'memory'`) or in a data directory,
 * created if missing and resolved against the working directory.
 */
export async function startPglite(target: string): Promise<PGlite> {
  // pg returns int8 (e.g. count(*)) as a string; PGlite would return a number.
  // Same code must see the same types on both adapters.
  const parsers = { [types.INT8]: (value: string) => value };
  if (target === 'memory') return PGlite.create({ parsers });
  const dataDir = resolve(target);
  await mkdir(dataDir, { recursive: true });
  return PGlite.create({ dataDir, parsers });
}
