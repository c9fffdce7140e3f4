/**
 * RabbitMQ-only bus behaviour: messages outlive consumers and bus instances,
 * crashes count as attempts, consumers and connections heal themselves, and
 * an unreachable broker fails fast with a clean message.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../src/errors.ts';
import { AMQP_URL, BusHarness, withChannel } from './support/bus.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';

const fast = { backoffMs: 50, maxAttempts: 5 };
const until = { timeout: 10_000, interval: 20 };

describe('rabbitmq bus', () => {
  let harness: BusHarness;
  beforeEach(() => {
    harness = new BusHarness(AMQP_URL);
  });
  afterEach(() => harness.cleanup());

  it('keeps messages in the broker while no consumer runs, across bus instances', async () => {
    const first = await harness.open();
    // Subscribing once creates the group's durable queue and binding.
    await (await first.subscribe('archive', ['video.deleted.v1'], async () => {})).close();
    await first.publish('video.deleted.v1', { videoId: 'vid_1' });
    await first.enqueue('purge', 'video.purge', { videoId: 'vid_1' });
    await first.close();

    const second = await harness.open();
    const received: string[] = [];
    await second.subscribe('archive', ['video.deleted.v1'], async (m) => void received.push(m.type));
    await second.consume('purge', async (m) => void received.push(m.type));
    await vi.waitFor(() => expect(received.sort()).toEqual(['video.deleted.v1', 'video.purge']), until);
  });

  it('counts a redelivery after a worker crash as a further attempt', async () => {
    const bus = await harness.open();
    await bus.enqueue('crashy', 'crashy.job', { n: 1 });
    // A "worker" that takes the message and dies before acking: the broker requeues it as redelivered.
    await withChannel(async (ch) => {
      expect(await ch.get(`${harness.prefix}crashy`, { noAck: false })).not.toBe(false);
    });
    const attempts: number[] = [];
    await bus.consume('crashy', async (m) => void attempts.push(m.attempt), fast);
    await vi.waitFor(() => expect(attempts).toEqual([2]), until);
  });

  it('restarts a consumer whose queue was deleted under it', async () => {
    const bus = await harness.open();
    const received: unknown[] = [];
    await bus.consume('phoenix', async (m) => void received.push(m.data), fast);
    const queue = `${harness.prefix}phoenix`;
    await withChannel((ch) => ch.deleteQueue(queue));
    // The restarted consumer declares its queue again.
    await vi.waitFor(() => withChannel((ch) => ch.checkQueue(queue)), until);
    await withChannel(async (ch) => {
      const envelope = {
        id: 'job_raw',
        type: 'raw.job',
        occurredAt: new Date().toISOString(),
        attempt: 1,
        data: 7,
      };
      ch.sendToQueue(queue, Buffer.from(JSON.stringify(envelope)));
      // A round trip on the same channel, so the message is at the broker before the connection closes.
      await ch.checkQueue(queue);
    });
    await vi.waitFor(() => expect(received).toEqual([7]), until);
  });

  it('rejects unavailable, in one line without the password, when the broker is unreachable', async () => {
    const err = await harness.open({}, 'amqp://guest:hunter2-secret@127.0.0.1:1').catch((e: unknown) => e);
    expect(AppError.is(err, 'unavailable')).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain('127.0.0.1:1');
    expect(message).not.toContain('hunter2-secret');
    expect(message).not.toContain('\n');
  });

  it('reconnects and resumes consuming; publishes wait for the broker, then give up', async () => {
    const target = new URL(AMQP_URL);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5672));
    try {
      target.host = `127.0.0.1:${proxy.port}`;
      const bus = await harness.open({ reconnectWaitMs: 1_500 }, target.toString());
      const received: unknown[] = [];
      await bus.subscribe('resilient', ['ping.sent.v1'], async (m) => void received.push(m.data), fast);
      await bus.publish('ping.sent.v1', { n: 1 });
      await vi.waitFor(() => expect(received).toEqual([{ n: 1 }]), until);

      await proxy.cut();
      await vi.waitFor(
        async () => expect(await bus.ping().catch((e: AppError) => e.code)).toBe('unavailable'),
        until,
      );
      const waiting = bus.publish('ping.sent.v1', { n: 2 });
      await proxy.resume();
      await waiting;
      // n:1 may arrive twice: if the cut beat its ack, the broker redelivers it (at least once).
      await vi.waitFor(() => expect(received).toContainEqual({ n: 2 }), until);

      await proxy.cut();
      const started = Date.now();
      await expect(bus.publish('ping.sent.v1', { n: 3 })).rejects.toMatchObject({ code: 'unavailable' });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await proxy.close();
    }
  });
});
