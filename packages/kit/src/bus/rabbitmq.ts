/**
 * The RabbitMQ bus adapter (`amqp://…`). Topology, all durable and named
 * with the bus prefix P:
 *
 *   P + 'wavecast.events'  topic exchange; routing key = event type
 *   P + group              one queue per subscribing group, bound per pattern
 *   P + queue              job queues, fed through the default exchange
 *   …retry.<ms>, …dlq      per-queue retry and dead-letter queues (amqp-consumer.ts)
 *
 * Publishes use publisher confirms and persistent messages, so a resolved
 * `publish` or `enqueue` survives a broker restart.
 */
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import type { Bus, ConsumeOptions, DeadLetter, Handler, Subscription } from '../bus.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { AmqpConsumer, type ConsumerSpec, deadLetterQueue, messageProperties } from './amqp-consumer.ts';
import { AmqpLink, confirmPublish, oneLine, replyCode, toBusError } from './amqp-link.ts';
import { resolveConsumeOptions } from './delivery.ts';
import {
  assertLimit,
  assertName,
  assertPatterns,
  assertType,
  createEnvelope,
  decodeEnvelope,
  encodeEnvelope,
} from './envelope.ts';

export interface RabbitBusOptions {
  prefix: string;
  logger: Logger;
  waitMs: number;
}

export class RabbitBus implements Bus {
  readonly kind = 'rabbitmq' as const;
  readonly #prefix: string;
  readonly #exchange: string;
  readonly #logger: Logger;
  readonly #consumers = new Set<AmqpConsumer>();
  #link!: AmqpLink;
  #closing: Promise<void> | undefined;

  /** Connects and declares the exchange; rejects AppError('unavailable') when the broker is unreachable. */
  static async open(url: string, opts: RabbitBusOptions): Promise<RabbitBus> {
    const bus = new RabbitBus(opts);
    bus.#link = await AmqpLink.open(url, {
      logger: opts.logger,
      waitMs: opts.waitMs,
      onConnect: (model, control) => bus.#onConnect(model, control),
    });
    return bus;
  }

  private constructor(opts: RabbitBusOptions) {
    this.#prefix = opts.prefix;
    this.#exchange = `${opts.prefix}wavecast.events`;
    this.#logger = opts.logger;
  }

  async publish(type: string, data: unknown, opts?: { id?: string }): Promise<void> {
    this.#assertOpen();
    assertType(type);
    const envelope = createEnvelope(type, data, opts?.id, 'evt');
    const body = Buffer.from(encodeEnvelope(envelope));
    await this.#link.control((ch) =>
      confirmPublish(ch, this.#exchange, type, body, messageProperties(envelope)),
    );
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
    const queue = this.#prefix + group;
    const topology = async (ch: Channel) => {
      await ch.assertQueue(queue, { durable: true });
      // Bindings outlive the subscription, like the queue: the group keeps collecting events while offline.
      for (const pattern of patterns) await ch.bindQueue(queue, this.#exchange, pattern);
    };
    return this.#start({ queue, topology, handler, opts: resolveConsumeOptions(opts) });
  }

  async enqueue(queue: string, type: string, data: unknown, opts?: { id?: string }): Promise<void> {
    this.#assertOpen();
    assertName('queue', queue);
    assertType(type);
    const name = this.#prefix + queue;
    const envelope = createEnvelope(type, data, opts?.id, 'job');
    const body = Buffer.from(encodeEnvelope(envelope));
    await this.#link.control(async (ch) => {
      // Declared with every message (one cheap round trip): the default exchange silently drops
      // messages for a queue that does not exist yet, or was deleted since.
      await ch.assertQueue(name, { durable: true });
      await confirmPublish(ch, '', name, body, messageProperties(envelope));
    });
  }

  async consume(queue: string, handler: Handler, opts?: ConsumeOptions): Promise<Subscription> {
    this.#assertOpen();
    assertName('queue', queue);
    const name = this.#prefix + queue;
    const topology = (ch: Channel) => ch.assertQueue(name, { durable: true });
    return this.#start({ queue: name, topology, handler, opts: resolveConsumeOptions(opts) });
  }

  /** Reads with basic.get and never acks: closing the channel puts every message back in its place. */
  async deadLetters(queue: string, limit = 100): Promise<DeadLetter[]> {
    this.#assertOpen();
    assertLimit(limit);
    const name = deadLetterQueue(this.#prefix + queue);
    const model = await this.#link.model();
    const ch = await model.createChannel().catch((err: unknown) => Promise.reject(toBusError(err)));
    ch.on('error', () => {});
    try {
      await ch.checkQueue(name);
      const letters: DeadLetter[] = [];
      while (letters.length < limit) {
        const msg = await ch.get(name, { noAck: false });
        if (msg === false) break;
        try {
          const error = msg.properties.headers?.['x-error'];
          letters.push({
            envelope: decodeEnvelope(msg.content.toString('utf8')),
            error: String(error ?? ''),
          });
        } catch {
          this.#logger.warn({ queue: name }, 'skipping a malformed dead letter');
        }
      }
      return letters;
    } catch (err) {
      if (replyCode(err) === 404) return [];
      throw toBusError(err);
    } finally {
      await ch.close().catch(() => {});
    }
  }

  async ping(): Promise<void> {
    this.#assertOpen();
    // A health check must answer now, not wait for a reconnect.
    await this.#link.control((ch) => ch.checkExchange(this.#exchange), 0);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#consumers].map((consumer) => consumer.close()));
      await this.#link.close();
    })();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closing) throw new AppError('unavailable', 'bus is closed');
  }

  async #start(spec: ConsumerSpec): Promise<Subscription> {
    const consumer = new AmqpConsumer(spec, this.#link, this.#logger, () => this.#consumers.delete(consumer));
    // Registered first, so a reconnect during the start below also starts it.
    this.#consumers.add(consumer);
    const model = await this.#link.model().catch(async (err: unknown) => {
      await consumer.close();
      throw err;
    });
    try {
      await consumer.start(model);
    } catch (err) {
      if (replyCode(err) === undefined && !this.#link.isCurrent(model)) {
        this.#logger.warn(
          { queue: spec.queue, err: oneLine(err) },
          'consumer will start after the reconnect',
        );
        return consumer;
      }
      await consumer.close();
      throw toBusError(err);
    }
    return consumer;
  }

  /** After every (re)connect: the exchange, then every consumer that is still open. */
  async #onConnect(model: ChannelModel, control: ConfirmChannel): Promise<void> {
    await control.assertExchange(this.#exchange, 'topic', { durable: true });
    await Promise.all(
      [...this.#consumers].map((consumer) =>
        consumer.start(model).catch((err: unknown) => {
          // A dropped connection fails the whole setup (the link checks); anything else is this consumer's own problem.
          this.#logger.error({ queue: consumer.spec.queue, err: oneLine(err) }, 'could not restart consumer');
        }),
      ),
    );
  }
}
