/**
 * Transactional outbox. `addEvent(trx, …)` stores an event inside the caller's
 * transaction; the relay publishes unpublished rows in id order and marks
 * them. Delivery is at least once (a crash after publish and before marking
 * republishes with the same id), which consumers handle by idempotency.
 */
import { fileURLToPath } from 'node:url';
import type { Generated, Kysely } from 'kysely';
import type { Static, TSchema } from 'typebox';
import type { Bus } from './bus.ts';
import { acceptRequestId, currentRequestId, runWithContext } from './context.ts';
import type { Database } from './db.ts';
import { newId } from './ids.ts';
import type { Logger } from './log.ts';

export interface OutboxTable {
  outbox: {
    id: string;
    type: string;
    data: unknown;
    request_id: string | null;
    created_at: Generated<Date>;
    published_at: Date | null;
  };
}

// biome-ignore lint/suspicious/noExplicitAny: any schema's Kysely may hold the outbox table
type AnyDb = Kysely<any>;

export const outboxMigrations = fileURLToPath(new URL('./outbox/', import.meta.url));

/** Creates the outbox table in `schema` (run alongside the service's own migrations). */
export async function migrateOutbox(db: Database, schema: string): Promise<void> {
  await db.migrate(schema, outboxMigrations);
}

export function addEvent<S extends Record<string, TSchema>, T extends keyof S & string>(
  trx: AnyDb,
  _schemas: S,
  type: T,
  data: Static<S[T]>,
): Promise<unknown> {
  return (trx as Kysely<OutboxTable>)
    .insertInto('outbox')
    .values({ id: newId('evt'), type, data: JSON.stringify(data), request_id: currentRequestId() ?? null })
    .execute();
}

const PURGE_EVERY_MS = 3_600_000;
const KEEP_PUBLISHED_MS = 7 * 86_400_000;

export interface OutboxRelay {
  /** Publishes now instead of at the next poll (call after a commit). */
  kick(): void;
  stop(): Promise<void>;
}

export function startOutboxRelay(opts: {
  db: AnyDb;
  bus: Bus;
  logger: Logger;
  /** The first poll after activity (default 1 s). */
  pollMs?: number;
  /** Idle polls back off, doubling, up to this (default 10 s). */
  maxPollMs?: number;
  batch?: number;
}): OutboxRelay {
  const db = opts.db as Kysely<OutboxTable>;
  const batch = opts.batch ?? 100;
  const minDelay = opts.pollMs ?? 1_000;
  const maxDelay = Math.max(minDelay, opts.maxPollMs ?? 10_000);
  let delay = minDelay;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let lastPurge = 0;

  // One batch in one transaction; SKIP LOCKED lets several instances of a
  // service relay side by side without publishing a row twice.
  const relayBatch = () =>
    db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('outbox')
        .selectAll()
        .where('published_at', 'is', null)
        .orderBy('id')
        .limit(batch)
        .forUpdate()
        .skipLocked()
        .execute();
      for (const row of rows) {
        const data = typeof row.data === 'string' ? JSON.parse(row.data) : row.data;
        await runWithContext({ requestId: acceptRequestId(row.request_id) }, () =>
          opts.bus.publish(row.type, data, { id: row.id }),
        );
      }
      if (rows.length > 0) {
        await trx
          .updateTable('outbox')
          .set({ published_at: new Date() })
          .where(
            'id',
            'in',
            rows.map((r) => r.id),
          )
          .execute();
      }
      return rows.length;
    });

  // A poll usually finds nothing: one indexed read instead of a transaction
  // with a locking select (the idle all-in-one process polls three of these).
  const pending = async () => {
    const rows = await db
      .selectFrom('outbox')
      .select('id')
      .where('published_at', 'is', null)
      .limit(1)
      .execute();
    return rows.length > 0;
  };

  /** Publishes what is pending; false when a poll found nothing to do. */
  const drain = async (poll: boolean): Promise<boolean> => {
    const busy = !poll || (await pending());
    if (busy) {
      while ((await relayBatch()) === batch) {
        // A full batch: there may be more.
      }
    }
    await purge();
    return busy;
  };

  const purge = async () => {
    if (Date.now() - lastPurge > PURGE_EVERY_MS) {
      lastPurge = Date.now();
      await db
        .deleteFrom('outbox')
        .where('published_at', '<', new Date(Date.now() - KEEP_PUBLISHED_MS))
        .execute();
    }
  };

  // Polls catch rows nobody kicked for (another process's writer that
  // crashed before its kick, a publish that failed). Writers kick after each
  // commit, so an idle relay polls less and less often: an idle process
  // should not spend its CPU asking an empty table. Activity or a failure
  // brings the polls back to `pollMs`.
  const schedule = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => run(true), delay);
    timer.unref();
  };

  const run = (poll: boolean) => {
    if (stopped) return;
    if (running) {
      again ||= !poll;
      return;
    }
    clearTimeout(timer);
    running = drain(poll)
      .then(
        (busy) => {
          delay = busy ? minDelay : Math.min(delay * 2, maxDelay);
        },
        (err) => {
          delay = minDelay;
          opts.logger.warn({ err }, 'outbox relay failed; will retry');
        },
      )
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          run(false);
        } else schedule();
      });
  };

  const kick = () => run(false);
  kick();
  return {
    kick,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
