/**
 * One RabbitMQ consumer (a `subscribe` or `consume` call) on its own channel,
 * so prefetch bounds exactly this handler's concurrency. Retry topology, per
 * main queue `q`:
 *
 *   q.retry.<ms>  one delay queue per distinct delay (x-message-ttl = ms),
 *                 dead-lettering through the default exchange back to `q`.
 *                 A single delay queue would block short delays behind long
 *                 ones, because RabbitMQ only expires messages at the head.
 *   q.dlq         messages that failed `maxAttempts` times or threw
 *                 PermanentError, with the error in the `x-error` header.
 *
 * A failed message is copied (attempt + 1) to the delay queue or the DLQ and
 * only then acked, so a crash in between duplicates it but never loses it.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Envelope, Handler, Subscription } from '../bus.ts';
import type { Logger } from '../log.ts';
import { type AmqpLink, confirmPublish, oneLine } from './amqp-link.ts';
import { deliver, type ResolvedConsumeOptions } from './delivery.ts';
import { decodeEnvelope, encodeEnvelope } from './envelope.ts';

/** Pause before re-creating a consumer whose channel the broker closed while the connection stayed up. */
const RESTART_DELAY_MS = 1_000;
/** Unused delay queues delete themselves this long after their last use (a changed backoff leaves none behind). */
const DELAY_QUEUE_IDLE_MS = 60_000;

export const deadLetterQueue = (queue: string) => `${queue}.dlq`;
export const delayQueue = (queue: string, delayMs: number) => `${queue}.retry.${delayMs}`;

/** Persistent JSON; id and type are copied to AMQP properties so management tools show them. */
export function messageProperties(
  envelope: { id?: string; type?: string },
  headers?: Record<string, unknown>,
) {
  return {
    persistent: true,
    contentType: 'application/json',
    timestamp: Math.floor(Date.now() / 1000),
    ...(envelope.id ? { messageId: envelope.id } : {}),
    ...(envelope.type ? { type: envelope.type } : {}),
    ...(headers ? { headers } : {}),
  };
}

export interface ConsumerSpec {
  /** Full queue name, prefix included. */
  queue: string;
  /** Declares the queue (and bindings) on the consumer's channel before consuming. */
  topology: (ch: Channel) => Promise<unknown>;
  handler: Handler;
  opts: ResolvedConsumeOptions;
}

interface Attachment {
  model: ChannelModel;
  started: Promise<void>;
  channel?: Channel;
  tag?: string;
}

export class AmqpConsumer implements Subscription {
  readonly spec: ConsumerSpec;
  readonly #link: AmqpLink;
  readonly #logger: Logger;
  readonly #onClose: () => void;
  readonly #inflight = new Set<Promise<void>>();
  #attachment: Attachment | undefined;
  #closing: Promise<void> | undefined;
  #restart: NodeJS.Timeout | undefined;

  constructor(spec: ConsumerSpec, link: AmqpLink, logger: Logger, onClose: () => void) {
    this.spec = spec;
    this.#link = link;
    this.#logger = logger.child({ queue: spec.queue });
    this.#onClose = onClose;
  }

  /** Starts consuming on `model`; called again after every reconnect, and a no-op for the current model. */
  start(model: ChannelModel): Promise<void> {
    if (this.#closing) return Promise.resolve();
    if (this.#attachment?.model === model) return this.#attachment.started;
    const attachment: Attachment = { model, started: Promise.resolve() };
    attachment.started = this.#attach(attachment);
    this.#attachment = attachment;
    return attachment.started;
  }

  /** Cancels the consumer, lets running handlers finish (and ack), then closes the channel. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#onClose();
      clearTimeout(this.#restart);
      const attachment = this.#attachment;
      await attachment?.started.catch(() => {});
      if (attachment?.channel && attachment.tag) {
        await attachment.channel.cancel(attachment.tag).catch(() => {});
      }
      while (this.#inflight.size > 0) await Promise.all(this.#inflight);
      await attachment?.channel?.close().catch(() => {});
    })();
    return this.#closing;
  }

  async #attach(attachment: Attachment): Promise<void> {
    const ch = await attachment.model.createChannel();
    ch.on('error', (err: Error) =>
      this.#logger.warn({ err: err.message }, 'rabbitmq consumer channel error'),
    );
    ch.on('close', () => this.#restartLater(attachment, 'channel closed'));
    attachment.channel = ch;
    await this.spec.topology(ch);
    await ch.prefetch(this.spec.opts.prefetch);
    if (this.#closing) return;
    const { consumerTag } = await ch.consume(
      this.spec.queue,
      (msg) => this.#onDelivery(attachment, ch, msg),
      {
        noAck: false,
      },
    );
    attachment.tag = consumerTag;
  }

  /**
   * Re-creates a consumer the broker stopped while the connection stayed up
   * (its queue was deleted, or a channel error). A lost connection is left to
   * the reconnect, which starts every consumer on the new connection.
   */
  #restartLater(attachment: Attachment, why: string): void {
    if (this.#closing || this.#restart || this.#attachment !== attachment) return;
    this.#restart = setTimeout(() => {
      this.#restart = undefined;
      if (this.#closing || this.#attachment !== attachment || !this.#link.isCurrent(attachment.model)) return;
      this.#logger.warn({ why }, 'rabbitmq consumer stopped; restarting it');
      attachment.channel?.close().catch(() => {});
      this.#attachment = undefined;
      this.start(attachment.model).catch((err: unknown) => {
        this.#logger.error({ err: oneLine(err) }, 'could not restart rabbitmq consumer');
        if (this.#attachment) this.#restartLater(this.#attachment, 'restart failed');
      });
    }, RESTART_DELAY_MS);
  }

  #onDelivery(attachment: Attachment, ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      this.#restartLater(attachment, 'cancelled by the broker');
      return;
    }
    const run: Promise<void> = this.#handle(ch, msg).finally(() => this.#inflight.delete(run));
    this.#inflight.add(run);
  }

  async #handle(ch: Channel, msg: ConsumeMessage): Promise<void> {
    const text = msg.content.toString('utf8');
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(text);
    } catch {
      this.#logger.error({ messageId: msg.properties.messageId }, 'malformed bus message dead-lettered');
      const { messageId: id, type } = msg.properties;
      return this.#settle(ch, msg, () => this.#deadLetter(text, 'malformed message envelope', { id, type }));
    }
    envelope.attempt += redeliveries(msg);
    const attempt = envelope.attempt;
    const outcome = await deliver(envelope, this.spec.handler, this.spec.opts, this.#logger);
    // Forward a fresh copy of what was received: the handler may have mutated its envelope.
    const forward = { ...decodeEnvelope(text), attempt };
    switch (outcome.kind) {
      case 'done':
        return this.#settle(ch, msg);
      case 'retry':
        return this.#settle(ch, msg, () =>
          this.#retry({ ...forward, attempt: attempt + 1 }, outcome.delayMs),
        );
      case 'dead':
        return this.#settle(ch, msg, () => this.#deadLetter(encodeEnvelope(forward), outcome.error, forward));
    }
  }

  /** Acks after `forward` is confirmed; otherwise hands the message back to the broker for redelivery. */
  async #settle(ch: Channel, msg: ConsumeMessage, forward?: () => Promise<void>): Promise<void> {
    try {
      await forward?.();
      ch.ack(msg);
    } catch (err) {
      this.#logger.warn({ err }, 'could not settle bus message; the broker will redeliver it');
      try {
        ch.nack(msg, false, true);
      } catch {
        // The channel is gone: the broker requeues every unacked message by itself.
      }
    }
  }

  #retry(envelope: Envelope, delayMs: number): Promise<void> {
    const { queue } = this.spec;
    const body = Buffer.from(encodeEnvelope(envelope));
    return this.#link.control(async (ch) => {
      // backoffMs 0 means "again now": straight back to the main queue.
      if (delayMs === 0) return confirmPublish(ch, '', queue, body, messageProperties(envelope));
      const target = delayQueue(queue, delayMs);
      await ch.assertQueue(target, {
        durable: true,
        arguments: {
          'x-message-ttl': delayMs,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': queue,
          'x-expires': delayMs + DELAY_QUEUE_IDLE_MS,
        },
      });
      await confirmPublish(ch, '', target, body, messageProperties(envelope));
    });
  }

  #deadLetter(text: string, error: string, envelope: { id?: string; type?: string }): Promise<void> {
    const target = deadLetterQueue(this.spec.queue);
    const headers = { 'x-error': error, 'x-dead-lettered-at': new Date().toISOString() };
    return this.#link.control(async (ch) => {
      await ch.assertQueue(target, { durable: true });
      await confirmPublish(ch, '', target, Buffer.from(text), messageProperties(envelope, headers));
    });
  }
}

/**
 * Earlier deliveries of this same copy that were never acked (a handler
 * process crashed). Quorum queues count them in `x-delivery-count`; classic
 * queues only flag `redelivered`, so there a crash loop costs one attempt,
 * not one per crash.
 */
function redeliveries(msg: ConsumeMessage): number {
  const count = Number(msg.properties.headers?.['x-delivery-count']);
  if (Number.isSafeInteger(count) && count > 0) return count;
  return msg.fields.redelivered ? 1 : 0;
}
