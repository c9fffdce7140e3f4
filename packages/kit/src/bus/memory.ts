/**
 * The in-process bus (`memory:`), with RabbitMQ's semantics so tests and
 * single-process installs behave like production: one queue per group bound
 * by topic patterns (fan-out across groups), competing consumers on a queue,
 * prefetch as the per-consumer concurrency limit, retry timers with backoff,
 * a dead-letter list per queue, and at-least-once delivery. Messages live in
 * memory only: they are lost when the process exits.
 */
import type { Bus, ConsumeOptions, DeadLetter, Handler, Subscription } from '../bus.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { deliver, type ResolvedConsumeOptions, resolveConsumeOptions } from './delivery.ts';
import {
  assertLimit,
  assertName,
  assertPatterns,
  assertType,
  createEnvelope,
  decodeEnvelope,
  encodeEnvelope,
} from './envelope.ts';
import { topicMatches } from './topic.ts';

interface Consumer {
  handler: Handler;
  opts: ResolvedConsumeOptions;
  active: number;
  inflight: Set<Promise<void>>;
}

interface Queue {
  /** Encoded envelopes waiting for a consumer, oldest first. */
  ready: string[];
  consumers: Consumer[];
  /** Round-robin position, so competing consumers share the work. */
  next: number;
  /** Topic patterns for a group queue; empty for a job queue. */
  patterns: Set<string>;
  dead: { text: string; error: string }[];
  pumpScheduled: boolean;
}

export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  readonly #queues = new Map<string, Queue>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #logger: Logger;
  #closing: Promise<void> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  async publish(type: string, data: unknown, opts?: { id?: string }): Promise<void> {
    this.#assertOpen();
    assertType(type);
    const text = encodeEnvelope(createEnvelope(type, data, opts?.id, 'evt'));
    for (const queue of this.#queues.values()) {
      if ([...queue.patterns].some((pattern) => topicMatches(pattern, type))) this.#push(queue, text);
    }
  }

  async subscribe(
    group: string,
    patterns: string[],
    handler: Handler,
    opts?: ConsumeOptions,
  ): Promise<Subscription> {
    this.#assertOpen();
    assertName('group', group);
    assertPatterns(patterns);
    const queue = this.#queue(group);
    // Like queue bindings, patterns stay after the subscription closes: the group keeps collecting events.
    for (const pattern of patterns) queue.patterns.add(pattern);
    return this.#addConsumer(queue, handler, resolveConsumeOptions(opts));
  }

  async enqueue(queue: string, type: string, data: unknown, opts?: { id?: string }): Promise<void> {
    this.#assertOpen();
    assertName('queue', queue);
    assertType(type);
    this.#push(this.#queue(queue), encodeEnvelope(createEnvelope(type, data, opts?.id, 'job')));
  }

  async consume(queue: string, handler: Handler, opts?: ConsumeOptions): Promise<Subscription> {
    this.#assertOpen();
    assertName('queue', queue);
    return this.#addConsumer(this.#queue(queue), handler, resolveConsumeOptions(opts));
  }

  async deadLetters(queue: string, limit = 100): Promise<DeadLetter[]> {
    this.#assertOpen();
    assertLimit(limit);
    const dead = this.#queues.get(queue)?.dead ?? [];
    return dead.slice(0, limit).map(({ text, error }) => ({ envelope: decodeEnvelope(text), error }));
  }

  async ping(): Promise<void> {
    this.#assertOpen();
  }

  /** Cancels pending retries (those messages are dropped) and waits for running handlers. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      const consumers = [...this.#queues.values()].flatMap((queue) => queue.consumers.splice(0));
      await Promise.all(consumers.map(drain));
    })();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closing) throw new AppError('unavailable', 'bus is closed');
  }

  #queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = { ready: [], consumers: [], next: 0, patterns: new Set(), dead: [], pumpScheduled: false };
      this.#queues.set(name, queue);
    }
    return queue;
  }

  #addConsumer(queue: Queue, handler: Handler, opts: ResolvedConsumeOptions): Subscription {
    const consumer: Consumer = { handler, opts, active: 0, inflight: new Set() };
    queue.consumers.push(consumer);
    this.#schedulePump(queue);
    let closing: Promise<void> | undefined;
    return {
      close: () => {
        closing ??= (async () => {
          const index = queue.consumers.indexOf(consumer);
          if (index >= 0) queue.consumers.splice(index, 1);
          await drain(consumer);
        })();
        return closing;
      },
    };
  }

  #push(queue: Queue, text: string): void {
    queue.ready.push(text);
    this.#schedulePump(queue);
  }

  /** Deferred, so handlers never run inside the publisher's call stack. */
  #schedulePump(queue: Queue): void {
    if (queue.pumpScheduled || this.#closing) return;
    queue.pumpScheduled = true;
    setImmediate(() => {
      queue.pumpScheduled = false;
      this.#pump(queue);
    });
  }

  #pump(queue: Queue): void {
    while (queue.ready.length > 0 && !this.#closing) {
      const consumer = this.#nextConsumer(queue);
      if (!consumer) return;
      this.#start(queue, consumer, queue.ready.shift() as string);
    }
  }

  /** The next consumer in round-robin order that is below its prefetch limit. */
  #nextConsumer(queue: Queue): Consumer | undefined {
    const count = queue.consumers.length;
    for (let i = 0; i < count; i++) {
      const consumer = queue.consumers[(queue.next + i) % count] as Consumer;
      if (consumer.active < consumer.opts.prefetch) {
        queue.next = (queue.next + i + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }

  #start(queue: Queue, consumer: Consumer, text: string): void {
    consumer.active++;
    const run = (async () => {
      const outcome = await deliver(decodeEnvelope(text), consumer.handler, consumer.opts, this.#logger);
      // Retries and dead letters are built from the stored text: a handler mutating its copy changes nothing.
      if (outcome.kind === 'retry') {
        const retry = decodeEnvelope(text);
        retry.attempt++;
        this.#later(outcome.delayMs, () => this.#push(queue, encodeEnvelope(retry)));
      } else if (outcome.kind === 'dead') {
        queue.dead.push({ text, error: outcome.error });
      }
    })().finally(() => {
      consumer.active--;
      consumer.inflight.delete(run);
      this.#schedulePump(queue);
    });
    consumer.inflight.add(run);
  }

  #later(delayMs: number, fn: () => void): void {
    // A handler finishing during close must not leave a timer keeping the process alive.
    if (this.#closing) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, delayMs);
    this.#timers.add(timer);
  }
}

/** Waits for a consumer's running handlers (deliver never rejects). */
async function drain(consumer: Consumer): Promise<void> {
  while (consumer.inflight.size > 0) await Promise.all(consumer.inflight);
}
