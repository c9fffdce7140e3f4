/**
 * Bus test fixtures: a harness per test with a unique name prefix on the
 * shared RabbitMQ, which records the queue and group names its buses use and
 * afterwards deletes exactly what they created (queues, delay queues, DLQs,
 * exchange).
 */
import { type Channel, connect } from 'amqplib';
import { deadLetterQueue, delayQueue } from '../../src/bus/amqp-consumer.ts';
import { MAX_BACKOFF_MS } from '../../src/bus/delivery.ts';
import { type BusOptions, openBus } from '../../src/bus/open.ts';
import type { Bus, ConsumeOptions } from '../../src/bus.ts';
import { ulid } from '../../src/ids.ts';

export const AMQP_URL = process.env.WAVECAST_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export class BusHarness {
  readonly url: string;
  readonly prefix = `t.bus.${ulid().toLowerCase()}.`;
  /** Queue or group name → backoffs used with it (each implies a ladder of delay queues). */
  readonly #names = new Map<string, Set<number>>();
  readonly #buses: Bus[] = [];

  constructor(url: string) {
    this.url = url;
  }

  /** A bus with this harness's prefix whose queue and group names are recorded for cleanup. */
  async open(opts: Omit<BusOptions, 'prefix'> = {}, url = this.url): Promise<Bus> {
    const bus = await openBus(url, { ...opts, prefix: this.prefix });
    this.#buses.push(bus);
    const record = (name: string, consume?: ConsumeOptions) => {
      const backoffs = this.#names.get(name) ?? new Set();
      backoffs.add(consume?.backoffMs ?? 1000);
      this.#names.set(name, backoffs);
    };
    return {
      kind: bus.kind,
      publish: (type, data, o) => bus.publish(type, data, o),
      subscribe: (group, patterns, handler, o) => {
        record(group, o);
        return bus.subscribe(group, patterns, handler, o);
      },
      enqueue: (queue, type, data, o) => {
        record(queue);
        return bus.enqueue(queue, type, data, o);
      },
      consume: (queue, handler, o) => {
        record(queue, o);
        return bus.consume(queue, handler, o);
      },
      deadLetters: (queue, limit) => bus.deadLetters(queue, limit),
      ping: () => bus.ping(),
      close: () => bus.close(),
    };
  }

  /** Closes every bus it opened, then deletes their RabbitMQ topology. */
  async cleanup(): Promise<void> {
    await Promise.all(this.#buses.splice(0).map((bus) => bus.close()));
    if (!this.url.startsWith('amqp')) return;
    await withChannel(async (ch) => {
      for (const [name, backoffs] of this.#names) {
        const queue = this.prefix + name;
        // Deleting a queue that does not exist succeeds, so the whole ladder can be deleted blindly.
        for (const target of [queue, deadLetterQueue(queue), ...delayQueues(queue, backoffs)]) {
          await ch.deleteQueue(target);
        }
      }
      await ch.deleteExchange(`${this.prefix}wavecast.events`);
    });
  }
}

/** Runs `fn` on a channel of its own connection to the test broker, behind the bus's back. */
export async function withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
  const conn = await connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    return await fn(ch);
  } finally {
    await conn.close().catch(() => {});
  }
}

function delayQueues(queue: string, backoffs: Set<number>): string[] {
  const names = new Set<string>();
  for (const backoff of backoffs) {
    for (let delay = backoff; delay > 0; delay *= 2) {
      names.add(delayQueue(queue, Math.min(delay, MAX_BACKOFF_MS)));
      if (delay >= MAX_BACKOFF_MS) break;
    }
  }
  return [...names];
}

/** A promise with its resolver, to hold a handler until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
