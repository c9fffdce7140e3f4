/**
 * The transactional outbox on real databases: events written in a transaction
 * reach the bus only if it commits, survive a failing bus, and are relayed
 * once by several relays sharing one PostgreSQL database.
 */
import { sql } from 'kysely';
import Type from 'typebox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Bus, type Envelope, openBus } from '../src/bus.ts';
import { runWithContext } from '../src/context.ts';
import { type Database, openDatabase } from '../src/db.ts';
import { createLogger } from '../src/log.ts';
import {
  addEvent,
  migrateOutbox,
  type OutboxRelay,
  type OutboxTable,
  startOutboxRelay,
} from '../src/outbox.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { eventually } from './support/poll.ts';

const logger = createLogger({ service: 'outbox-test', level: 'silent' });

const schemas = {
  'thing.happened.v1': Type.Object({ n: Type.Number() }),
  'thing.marker.v1': Type.Object({ tag: Type.String() }),
};

interface Published {
  id: string;
  type: string;
  data: unknown;
}

/** A bus that records every successful publish and can be told to fail some. */
class RecordingBus {
  readonly published: Published[] = [];
  attempts = 0;
  /** Decides per attempt (1-based) whether the publish throws. */
  failWhen: (attempt: number) => boolean = () => false;
  readonly bus: Bus;

  constructor(inner: Bus) {
    this.bus = {
      kind: inner.kind,
      publish: async (type, data, opts) => {
        this.attempts++;
        if (this.failWhen(this.attempts)) throw new Error(`broker down (attempt ${this.attempts})`);
        await inner.publish(type, data, opts);
        this.published.push({ id: opts?.id ?? '', type, data });
      },
      subscribe: (...args) => inner.subscribe(...args),
      enqueue: (...args) => inner.enqueue(...args),
      consume: (...args) => inner.consume(...args),
      deadLetters: (...args) => inner.deadLetters(...args),
      ping: () => inner.ping(),
      close: () => inner.close(),
    };
  }
}

const relays: OutboxRelay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
});

interface RelayOptions {
  pollMs?: number;
  maxPollMs?: number;
  batch?: number;
  /** Called for every statement the relay runs. */
  onQuery?: (kind: string) => void;
}

function relay(db: Database, schema: string, bus: Bus, opts: RelayOptions = {}) {
  const { onQuery, ...rest } = opts;
  const kysely = db.kysely(schema);
  const started = startOutboxRelay({
    db: onQuery
      ? kysely.withPlugin({
          transformQuery: ({ node }) => {
            onQuery(node.kind);
            return node;
          },
          transformResult: async ({ result }) => result,
        })
      : kysely,
    bus,
    logger,
    pollMs: opts.pollMs ?? 20,
    ...rest,
  });
  relays.push(started);
  return started;
}

async function addEvents(db: Database, schema: string, count: number, from = 0): Promise<void> {
  await db
    .kysely<OutboxTable>(schema)
    .transaction()
    .execute(async (trx) => {
      for (let n = from; n < from + count; n++) await addEvent(trx, schemas, 'thing.happened.v1', { n });
    });
}

async function rows(db: Database, schema: string) {
  return db.kysely<OutboxTable>(schema).selectFrom('outbox').selectAll().orderBy('id').execute();
}

/** Each id once, in order of first appearance. */
const firstSeen = (ids: string[]) => [...new Set(ids)];

describe('outbox on PGlite', () => {
  let db: Database;
  let inner: Bus;
  let received: Envelope[];
  let schemaSeq = 0;
  let schema: string;

  beforeAll(async () => {
    db = await openDatabase('pglite:memory');
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    schema = `outbox_${++schemaSeq}`;
    await migrateOutbox(db, schema);
    inner = await openBus('memory:');
    received = [];
    await inner.subscribe('watcher', ['thing.*.v1'], async (m) => void received.push(m), { prefetch: 1 });
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await inner.close();
  });

  it('publishes committed events with the row id as envelope id and the writer’s request id', async () => {
    await runWithContext({ requestId: 'req_writer' }, () =>
      db
        .kysely<OutboxTable>(schema)
        .transaction()
        .execute(async (trx) => {
          await addEvent(trx, schemas, 'thing.happened.v1', { n: 1 });
          await addEvent(trx, schemas, 'thing.marker.v1', { tag: 'second' });
        }),
    );
    const stored = await rows(db, schema);
    expect(stored.map((r) => [r.type, r.request_id, r.published_at])).toEqual([
      ['thing.happened.v1', 'req_writer', null],
      ['thing.marker.v1', 'req_writer', null],
    ]);

    relay(db, schema, inner);
    await eventually(async () => expect(received).toHaveLength(2));
    expect(received.map((m) => ({ id: m.id, type: m.type, data: m.data, requestId: m.requestId }))).toEqual([
      { id: stored[0]!.id, type: 'thing.happened.v1', data: { n: 1 }, requestId: 'req_writer' },
      { id: stored[1]!.id, type: 'thing.marker.v1', data: { tag: 'second' }, requestId: 'req_writer' },
    ]);
    expect(stored[0]!.id).toMatch(/^evt_/);
    await eventually(async () => {
      expect((await rows(db, schema)).every((r) => r.published_at instanceof Date)).toBe(true);
    });
  });

  it('gives an event written outside a request a request id of its own', async () => {
    await addEvents(db, schema, 1);
    relay(db, schema, inner);
    await eventually(async () => expect(received).toHaveLength(1));
    expect(received[0]!.requestId).toMatch(/^req_[0-9A-Z]{26}$/);
  });

  it('publishes nothing from a rolled-back transaction', async () => {
    const kysely = db.kysely<OutboxTable>(schema);
    const failed = await kysely
      .transaction()
      .execute(async (trx) => {
        await addEvent(trx, schemas, 'thing.happened.v1', { n: 666 });
        throw new Error('the state change failed');
      })
      .catch((err: Error) => err.message);
    expect(failed).toBe('the state change failed');
    expect(await rows(db, schema)).toEqual([]);

    const started = relay(db, schema, inner);
    // Something committed afterwards proves the relay ran past the rolled-back event.
    await kysely.transaction().execute((trx) => addEvent(trx, schemas, 'thing.marker.v1', { tag: 'after' }));
    started.kick();
    await eventually(async () => expect(received.map((m) => m.data)).toEqual([{ tag: 'after' }]));
  });

  it('keeps retrying while the bus fails, then publishes everything in order', async () => {
    const recording = new RecordingBus(inner);
    recording.failWhen = (attempt) => attempt <= 3;
    await addEvents(db, schema, 5);
    const ids = (await rows(db, schema)).map((r) => r.id);

    relay(db, schema, recording.bus);
    await eventually(async () => expect(recording.published).toHaveLength(5));
    expect(recording.attempts).toBe(8);
    // The batch failed before its first publish each time, so nothing went out twice.
    expect(recording.published.map((p) => p.id)).toEqual(ids);
    expect(recording.published.map((p) => p.data)).toEqual([0, 1, 2, 3, 4].map((n) => ({ n })));
    await eventually(async () => expect(received.map((m) => m.id)).toEqual(ids));
    expect((await rows(db, schema)).every((r) => r.published_at !== null)).toBe(true);
  });

  it('republishes a half-published batch rather than losing or reordering it', async () => {
    const recording = new RecordingBus(inner);
    // The broker goes away in the middle of the batch: the third publish fails.
    recording.failWhen = (attempt) => attempt === 3;
    await addEvents(db, schema, 5);
    const ids = (await rows(db, schema)).map((r) => r.id);

    relay(db, schema, recording.bus);
    await eventually(async () => {
      expect((await rows(db, schema)).every((r) => r.published_at !== null)).toBe(true);
    });
    const published = recording.published.map((p) => p.id);
    // At least once: nothing is lost, and the first copy of each event is in outbox order.
    expect(firstSeen(published)).toEqual(ids);
    // The rows published before the failure were not marked, so they went out again, in order.
    expect(published).toEqual([ids[0], ids[1], ...ids]);
    // Consumers get the same id for a republished event, which is what makes them idempotent.
    await eventually(async () => expect(received).toHaveLength(published.length));
    expect(received.map((m) => m.id)).toEqual(published);
  });

  it('drains more rows than one batch', async () => {
    const recording = new RecordingBus(inner);
    await addEvents(db, schema, 23);
    const ids = (await rows(db, schema)).map((r) => r.id);
    relay(db, schema, recording.bus, { batch: 5, pollMs: 60_000 });
    // One kick at start drains every full batch without waiting for the next poll.
    await eventually(async () => expect(recording.published.map((p) => p.id)).toEqual(ids));
  });

  it('publishes at once on kick() instead of waiting for the next poll', async () => {
    const recording = new RecordingBus(inner);
    const started = relay(db, schema, recording.bus, { pollMs: 60_000 });
    await addEvents(db, schema, 2);
    started.kick();
    await eventually(async () => expect(recording.published).toHaveLength(2), 5_000);
  });

  it('finds rows written without a kick (another instance, a crashed writer) at the next poll', async () => {
    const recording = new RecordingBus(inner);
    relay(db, schema, recording.bus, { pollMs: 50 });
    // Idle polls first: nothing pending, nothing published.
    await new Promise((r) => setTimeout(r, 200));
    expect(recording.published).toHaveLength(0);
    await addEvents(db, schema, 3);
    await eventually(async () => expect(recording.published).toHaveLength(3), 5_000);
  });

  it('polls an idle table less and less often, and as often as before once there is work', async () => {
    const recording = new RecordingBus(inner);
    let polls = 0;
    const started = relay(db, schema, recording.bus, {
      pollMs: 10,
      maxPollMs: 2_000,
      onQuery: (kind) => void (kind === 'SelectQueryNode' && polls++),
    });
    // 1.2 s idle: polls 10, 20, 40, ... ms apart, about 7 of them, instead of 120 at a fixed 10 ms.
    await new Promise((r) => setTimeout(r, 1_200));
    expect(polls).toBeGreaterThanOrEqual(4);
    expect(polls).toBeLessThanOrEqual(12);
    // Activity brings the polls back to 10 ms: a row nobody kicks for is found
    // well before the 2 s an idle relay would have waited.
    started.kick();
    await addEvents(db, schema, 1);
    const written = Date.now();
    await eventually(async () => expect(recording.published).toHaveLength(1), 5_000);
    expect(Date.now() - written).toBeLessThan(1_000);
  });

  it('purges events published long ago, and nothing else', async () => {
    await addEvents(db, schema, 3);
    const [old, recent, pending] = (await rows(db, schema)).map((r) => r.id);
    const kysely = db.kysely<OutboxTable>(schema);
    await kysely
      .updateTable('outbox')
      .set({ published_at: sql<Date>`now() - interval '8 days'` })
      .where('id', '=', old!)
      .execute();
    await kysely
      .updateTable('outbox')
      .set({ published_at: sql<Date>`now() - interval '6 days'` })
      .where('id', '=', recent!)
      .execute();
    relay(db, schema, inner);
    await eventually(async () =>
      expect((await rows(db, schema)).map((r) => r.id)).toEqual([recent, pending]),
    );
    await eventually(async () => expect(received.map((m) => m.id)).toEqual([pending]));
  });
});

describe('outbox on PostgreSQL with two relays', () => {
  let testDb: TestDatabase;
  let first: Database;
  let second: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    // Two pools, as two instances of a service would have.
    first = await openDatabase(testDb.url);
    second = await openDatabase(testDb.url);
    await migrateOutbox(first, 'app');
  });
  afterAll(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await first?.close();
    await second?.close();
    await testDb?.drop();
  });

  it('publishes each row exactly once (SKIP LOCKED)', async () => {
    const bus = await openBus('memory:');
    const slowBus = (recording: RecordingBus): Bus => ({
      ...recording.bus,
      // A broker round trip, so the two relays overlap.
      publish: async (type, data, opts) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        await recording.bus.publish(type, data, opts);
      },
    });
    const one = new RecordingBus(bus);
    const two = new RecordingBus(bus);
    for (let n = 0; n < 300; n += 50) await addEvents(first, 'app', 50, n);
    const ids = (await rows(first, 'app')).map((r) => r.id);
    expect(ids).toHaveLength(300);

    relay(first, 'app', slowBus(one), { batch: 10, pollMs: 50 });
    relay(second, 'app', slowBus(two), { batch: 10, pollMs: 50 });
    // More events while both relays run.
    await addEvents(second, 'app', 100, 300);
    const all = (await rows(first, 'app')).map((r) => r.id);
    expect(all).toHaveLength(400);

    await eventually(async () => {
      expect(one.published.length + two.published.length).toBe(400);
      expect((await rows(first, 'app')).every((r) => r.published_at !== null)).toBe(true);
    }, 30_000);
    const published = [...one.published, ...two.published].map((p) => p.id);
    expect(published.toSorted()).toEqual(all);
    expect(new Set(published).size).toBe(400);
    // Both took part, and each relayed its share in outbox order.
    expect(one.published.length).toBeGreaterThan(0);
    expect(two.published.length).toBeGreaterThan(0);
    for (const r of [one, two]) {
      const own = r.published.map((p) => p.id);
      expect(own).toEqual(own.toSorted());
    }
    await bus.close();
  });
});
