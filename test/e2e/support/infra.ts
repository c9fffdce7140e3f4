/**
 * Isolated slices of the shared PostgreSQL, Redis and RabbitMQ for one e2e
 * suite: a fresh database, a Redis key prefix, a RabbitMQ name prefix; and the
 * cleanup that removes exactly those.
 */
import { deadLetterQueue, delayQueue } from '../../../packages/kit/src/bus/amqp-consumer.ts';
import { MAX_BACKOFF_MS } from '../../../packages/kit/src/bus/delivery.ts';
import { ulid } from '../../../packages/kit/src/ids.ts';
import { AMQP_URL, withChannel } from '../../../packages/kit/test/support/bus.ts';
import { deleteRedisKeys, REDIS_URL } from '../../../packages/kit/test/support/cache.ts';
import { createTestDatabase, type TestDatabase } from '../../../packages/kit/test/support/db.ts';

export interface Infra {
  db: TestDatabase;
  redisUrl: string;
  cachePrefix: string;
  amqpUrl: string;
  busPrefix: string;
  cleanup(groups: string[]): Promise<void>;
}

export async function createInfra(): Promise<Infra> {
  const id = ulid().toLowerCase();
  const db = await createTestDatabase();
  const cachePrefix = `t:e2e:${id}:`;
  const busPrefix = `t.e2e.${id}.`;
  return {
    db,
    redisUrl: REDIS_URL,
    cachePrefix,
    amqpUrl: AMQP_URL,
    busPrefix,
    async cleanup(groups) {
      await deleteRedisKeys(cachePrefix);
      await withChannel(async (ch) => {
        for (const group of groups) {
          const queue = busPrefix + group;
          const ladder: string[] = [];
          for (let delay = 1000; delay <= MAX_BACKOFF_MS; delay *= 2) ladder.push(delayQueue(queue, delay));
          ladder.push(delayQueue(queue, MAX_BACKOFF_MS));
          for (const name of [queue, deadLetterQueue(queue), ...ladder]) await ch.deleteQueue(name);
        }
        await ch.deleteExchange(`${busPrefix}wavecast.events`);
      });
      await db.drop();
    },
  };
}
