/**
 * The bus port. Events are published to a topic exchange and fanned out to
 * every subscribing group (each group has one durable queue, shared by its
 * instances). Jobs go to a named work queue and are consumed by competing
 * workers. Both deliver at least once: a handler that throws is retried with
 * backoff, and after `maxAttempts` the message goes to the dead-letter queue.
 * Adapters: in-process (`memory:`) and RabbitMQ (`amqp://…`).
 * Implementation lives in ./bus/.
 */
export interface Envelope<T = unknown> {
  /** Unique per published message; handlers use it for idempotency. */
  id: string;
  type: string;
  occurredAt: string;
  requestId?: string;
  /** 1 on first delivery. */
  attempt: number;
  data: T;
}

export type Handler<T = unknown> = (msg: Envelope<T>) => Promise<void>;

export interface ConsumeOptions {
  /** Unacknowledged messages a consumer holds at once (default 10). */
  prefetch?: number;
  /** Deliveries before a message is dead-lettered (default 5). */
  maxAttempts?: number;
  /** Delay before the first retry, doubled each attempt (default 1000 ms). */
  backoffMs?: number;
}

export interface Subscription {
  /** Stops consuming; in-flight handlers finish first. */
  close(): Promise<void>;
}

export interface DeadLetter {
  envelope: Envelope;
  error: string;
}

export interface Bus {
  readonly kind: 'memory' | 'rabbitmq';
  /** Publishes an event; routing key is the event type, e.g. `user.registered.v1`. */
  publish(type: string, data: unknown, opts?: { id?: string }): Promise<void>;
  /**
   * Subscribes `group` to events matching `patterns` (topic syntax: `*` one
   * word, `#` any words).
   */
  subscribe(
    group: string,
    patterns: string[],
    handler: Handler,
    opts?: ConsumeOptions,
  ): Promise<Subscription>;
  /** Adds a job to a durable work queue. */
  enqueue(queue: string, type: string, data: unknown, opts?: { id?: string }): Promise<void>;
  consume(queue: string, handler: Handler, opts?: ConsumeOptions): Promise<Subscription>;
  /** Messages dead-lettered from a queue or group, oldest first, without removing them. */
  deadLetters(queue: string, limit?: number): Promise<DeadLetter[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by a handler to dead-letter a message at once (retrying cannot help). */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

export { openBus } from './bus/open.ts';
