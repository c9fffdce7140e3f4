import { pino } from 'pino';
import type { Bus } from '../bus.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { MemoryBus } from './memory.ts';
import { RabbitBus } from './rabbitmq.ts';

export interface BusOptions {
  /** RabbitMQ: prepended to every exchange and queue name, so tests can share one broker. A memory bus is private anyway. */
  prefix?: string;
  /** Handler failures, dead letters and reconnects are logged here (default: silent). */
  logger?: Logger;
  /**
   * RabbitMQ only: how long publishes and other operations wait for a lost
   * connection to come back before failing AppError('unavailable') (default 15 000 ms).
   */
  reconnectWaitMs?: number;
}

/**
 * Opens the bus named by `url`: `memory:` (in-process) or
 * `amqp://user:pass@host[:port][/vhost]` (also `amqps://`). Rejects with
 * AppError('unavailable') when the broker cannot be reached and
 * AppError('invalid_argument') for an unknown scheme.
 */
export async function openBus(url: string, opts: BusOptions = {}): Promise<Bus> {
  // Never echo the URL itself: it may carry a password.
  if (!URL.canParse(url)) throw new AppError('invalid_argument', 'malformed bus URL');
  const logger = opts.logger ?? pino({ level: 'silent' });
  if (url.startsWith('memory:')) return new MemoryBus(logger);
  if (url.startsWith('amqp://') || url.startsWith('amqps://')) {
    return RabbitBus.open(url, { prefix: opts.prefix ?? '', logger, waitMs: opts.reconnectWaitMs ?? 15_000 });
  }
  throw new AppError(
    'invalid_argument',
    `unsupported bus URL scheme: ${url.split(':')[0]}: (use memory: or amqp://)`,
  );
}
