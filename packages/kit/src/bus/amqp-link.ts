/**
 * One self-healing RabbitMQ connection. amqplib's recovery reconnects with
 * backoff; after every (re)connect `onConnect` re-creates what a connection
 * loses (exchange assertion, consumers). Non-consuming work runs on one
 * confirm channel through `control`, which waits a bounded time for the
 * connection to come back and reruns work that a lost channel interrupted.
 */
import {
  type ChannelModel,
  type ConfirmChannel,
  connect,
  type Options,
  type RecoveringChannelModel,
} from 'amqplib';
import { AppError, type ErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';

const CONNECT_TIMEOUT_MS = 5_000;
/** Pause between attempts when a channel is lost mid-operation, so a flapping broker is not hammered. */
const RETRY_PAUSE_MS = 100;

export interface LinkOptions {
  logger: Logger;
  /** How long operations wait for a lost connection to come back before failing 'unavailable'. */
  waitMs: number;
  /** Runs after every (re)connect, before operations resume; a throw makes amqplib reconnect again. */
  onConnect: (model: ChannelModel, control: ConfirmChannel) => Promise<void>;
}

interface Waiter {
  resolve: (model: ChannelModel) => void;
  reject: (err: Error) => void;
}

export class AmqpLink {
  /** `host:port`, for messages: the URL may hold a password. */
  readonly where: string;
  readonly #opts: LinkOptions;
  #conn: RecoveringChannelModel | undefined;
  #model: ChannelModel | undefined;
  #control: Promise<ConfirmChannel> | undefined;
  readonly #deadModels = new WeakSet<ChannelModel>();
  readonly #waiters = new Set<Waiter>();
  #closed = false;

  /** Connects once, without retrying: an unreachable broker at startup is a configuration error. */
  static async open(url: string, opts: LinkOptions): Promise<AmqpLink> {
    const link = new AmqpLink(url, opts);
    const conn = await connect(url, {
      timeout: CONNECT_TIMEOUT_MS,
      recovery: {
        waitForConnect: false,
        initialMaxRetries: 0,
        initialDelay: 200,
        maxDelay: 10_000,
        setup: (model: ChannelModel) => link.#setup(model),
      },
    });
    link.#conn = conn;
    // The model's own 'error' listener (see #setup) logs; amqplib re-emits here too, and an unheard 'error' throws.
    conn.on('error', () => {});
    conn.on('disconnect', (err: Error) => {
      link.#model = undefined;
      link.#control = undefined;
      if (!link.#closed) opts.logger.warn({ err: err.message }, 'rabbitmq connection lost; reconnecting');
    });
    conn.on('reconnect-scheduled', ({ attempt, delay }: { attempt: number; delay: number }) =>
      opts.logger.debug({ attempt, delay }, 'rabbitmq reconnect scheduled'),
    );
    try {
      await conn.waitForConnect();
    } catch (err) {
      await conn.close().catch(() => {});
      throw new AppError('unavailable', `RabbitMQ unreachable at ${link.where}: ${oneLine(err)}`, {
        cause: err,
      });
    }
    return link;
  }

  private constructor(url: string, opts: LinkOptions) {
    const u = new URL(url);
    this.where = `${u.hostname}:${u.port || (u.protocol === 'amqps:' ? 5671 : 5672)}`;
    this.#opts = opts;
  }

  /** True while `model` is the current, open connection. */
  isCurrent(model: ChannelModel): boolean {
    return this.#model === model && !this.#deadModels.has(model);
  }

  /** The live connection, waiting up to `deadline` (epoch ms) for a reconnect. */
  model(deadline = Date.now() + this.#opts.waitMs): Promise<ChannelModel> {
    if (this.#closed) return Promise.reject(new AppError('unavailable', 'bus is closed'));
    if (this.#model) return Promise.resolve(this.#model);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new AppError('unavailable', `RabbitMQ at ${this.where} is unreachable; gave up waiting`));
      }, deadline - Date.now());
      const waiter: Waiter = {
        resolve: (model) => {
          clearTimeout(timer);
          resolve(model);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /**
   * Runs `fn` on the confirm channel. Work cut short by a lost channel or
   * connection is run again on the next one until the wait runs out, so `fn`
   * must be safe to repeat (assertions are; a repeated publish is a
   * duplicate, which at-least-once delivery allows). `waitMs` 0 fails at once.
   */
  async control<T>(fn: (ch: ConfirmChannel) => Promise<T>, waitMs = this.#opts.waitMs): Promise<T> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const model = await this.model(deadline);
      this.#control ??= this.#openControl(model);
      const control = this.#control;
      const ch = await control.catch(() => undefined);
      if (ch) {
        try {
          return await fn(ch);
        } catch (err) {
          // A reply code means the broker refused this very operation: repeating cannot help.
          if (replyCode(err) !== undefined || (this.#control === control && !this.#deadModels.has(model))) {
            throw toBusError(err);
          }
        }
      }
      if (this.#closed || Date.now() + RETRY_PAUSE_MS >= deadline) {
        throw new AppError('unavailable', `RabbitMQ at ${this.where} is unreachable; gave up retrying`);
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
    }
  }

  /** Stops reconnecting, fails waiting operations, and closes the connection (and with it every channel). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiters) waiter.reject(new AppError('unavailable', 'bus is closed'));
    this.#waiters.clear();
    this.#model = undefined;
    this.#control = undefined;
    await this.#conn?.close().catch(() => {});
  }

  async #setup(model: ChannelModel): Promise<void> {
    // amqplib listens on the model only after setup; until then an 'error' event would be unhandled.
    model.on('error', (err: Error) =>
      this.#opts.logger.warn({ err: err.message }, 'rabbitmq connection error'),
    );
    model.on('close', () => this.#deadModels.add(model));
    const control = this.#openControl(model);
    await this.#opts.onConnect(model, await control);
    // A consumer that failed to start because the connection dropped must not count as connected.
    if (this.#deadModels.has(model)) throw new Error('connection lost during setup');
    if (this.#closed) return;
    this.#model = model;
    this.#control = control;
    for (const waiter of this.#waiters) waiter.resolve(model);
    this.#waiters.clear();
  }

  #openControl(model: ChannelModel): Promise<ConfirmChannel> {
    const opening: Promise<ConfirmChannel> = model.createConfirmChannel().then((ch) => {
      ch.on('error', (err: Error) => this.#opts.logger.warn({ err: err.message }, 'rabbitmq channel error'));
      ch.on('close', () => {
        if (this.#control === opening) this.#control = undefined;
      });
      return ch;
    });
    opening.catch(() => {
      if (this.#control === opening) this.#control = undefined;
    });
    return opening;
  }
}

/** Publishes and resolves once the broker has confirmed the message (rejects on nack or channel loss). */
export function confirmPublish(
  ch: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish,
): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.publish(exchange, routingKey, content, options, (err: unknown) => (err ? reject(err) : resolve()));
  });
}

/** The AMQP reply code of an error the broker raised (404, 406…), if it is one. */
export function replyCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

const replyCodes: Record<number, ErrorCode> = {
  403: 'permission_denied',
  404: 'not_found',
  406: 'failed_precondition',
};

export function toBusError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = replyCode(err);
  if (code !== undefined) {
    return new AppError(replyCodes[code] ?? 'internal', `RabbitMQ: ${oneLine(err)}`, { cause: err });
  }
  return new AppError('unavailable', `RabbitMQ: ${oneLine(err)}`, { cause: err });
}

export function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
}
