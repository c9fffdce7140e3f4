/**
 * The bus contract, run against every adapter: both must behave the same for
 * every caller. RabbitMQ-only behaviour (durability, redelivery, connection
 * failures) is in bus.rabbitmq.test.ts. Small backoffs keep retries fast;
 * waits poll with a deadline.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Bus, type Envelope, PermanentError } from '../src/bus.ts';
import { currentRequestId, runWithContext } from '../src/context.ts';
import { AMQP_URL, BusHarness, gate } from './support/bus.ts';

const fast = { backoffMs: 50, maxAttempts: 5 };
const until = { timeout: 10_000, interval: 20 };

function describeBusContract(name: string, url: string) {
  describe(`bus contract: ${name}`, () => {
    let harness: BusHarness;
    let bus: Bus;

    beforeEach(async () => {
      harness = new BusHarness(url);
      bus = await harness.open();
    });
    afterEach(() => harness.cleanup());

    it('delivers each event once to every subscribed group', async () => {
      const billing: Envelope[] = [];
      const mailer: Envelope[] = [];
      await bus.subscribe('billing', ['user.registered.v1'], async (m) => void billing.push(m), fast);
      await bus.subscribe('mailer', ['user.registered.v1'], async (m) => void mailer.push(m), fast);
      for (let n = 0; n < 3; n++) await bus.publish('user.registered.v1', { n });
      await vi.waitFor(() => expect([billing.length, mailer.length]).toEqual([3, 3]), until);

      expect(billing.map((m) => m.data)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
      expect(mailer.map((m) => m.id)).toEqual(billing.map((m) => m.id));
      expect(new Set(billing.map((m) => m.id)).size).toBe(3);
      const [first] = billing;
      expect(first).toMatchObject({
        type: 'user.registered.v1',
        attempt: 1,
        id: expect.stringMatching(/^evt_/),
      });
      expect(Number.isNaN(Date.parse(first?.occurredAt ?? ''))).toBe(false);

      // A duplicate would arrive before a later event on the same queue.
      await bus.publish('user.registered.v1', { n: 'last' }, { id: 'evt_last' });
      await vi.waitFor(
        () => expect([billing.at(-1)?.id, mailer.at(-1)?.id]).toEqual(['evt_last', 'evt_last']),
        until,
      );
      expect([billing.length, mailer.length]).toEqual([4, 4]);
    });

    it('splits a group’s events between its competing consumers', async () => {
      const one: string[] = [];
      const two: string[] = [];
      await bus.subscribe('workers', ['task.created.v1'], async (m) => void one.push(m.id), { prefetch: 1 });
      await bus.subscribe('workers', ['task.created.v1'], async (m) => void two.push(m.id), { prefetch: 1 });
      await Promise.all(Array.from({ length: 20 }, (_, n) => bus.publish('task.created.v1', { n })));
      await vi.waitFor(() => expect(one.length + two.length).toBe(20), until);
      expect(one.length).toBeGreaterThan(0);
      expect(two.length).toBeGreaterThan(0);
      expect(new Set([...one, ...two]).size).toBe(20);
    });

    it('routes by topic pattern: * is one word, # is any', async () => {
      const video: string[] = [];
      const all: string[] = [];
      await bus.subscribe('video-v1', ['video.*.v1'], async (m) => void video.push(m.type), fast);
      await bus.subscribe('audit', ['#'], async (m) => void all.push(m.type), fast);
      const types = [
        'video.published.v1',
        'video.published.v2',
        'user.registered.v1',
        'video.a.b.v1',
        'video.end.v1',
      ];
      for (const type of types) await bus.publish(type, {});
      await vi.waitFor(() => expect(all).toHaveLength(5), until);
      await vi.waitFor(() => expect(video).toContain('video.end.v1'), until);
      expect(all).toEqual(types);
      expect(video).toEqual(['video.published.v1', 'video.end.v1']);
    });

    it('keeps jobs queued until a worker consumes them, in order', async () => {
      await bus.enqueue('transcode', 'video.transcode', { videoId: 'vid_1' });
      await bus.enqueue('transcode', 'video.transcode', { videoId: 'vid_2' }, { id: 'job_custom' });
      const jobs: Envelope[] = [];
      await bus.consume('transcode', async (m) => void jobs.push(m), fast);
      await vi.waitFor(() => expect(jobs).toHaveLength(2), until);
      expect(jobs.map((m) => m.data)).toEqual([{ videoId: 'vid_1' }, { videoId: 'vid_2' }]);
      expect(jobs[0]).toMatchObject({
        type: 'video.transcode',
        attempt: 1,
        id: expect.stringMatching(/^job_/),
      });
      expect(jobs[1]?.id).toBe('job_custom');
    });

    it('hands a job queued after a consumer left to the next consumer', async () => {
      const first: unknown[] = [];
      const second: unknown[] = [];
      const sub = await bus.consume('mail', async (m) => void first.push(m.data), fast);
      await sub.close();
      await bus.enqueue('mail', 'mail.send', { to: 'a@example.com' });
      await bus.consume('mail', async (m) => void second.push(m.data), fast);
      await vi.waitFor(() => expect(second).toEqual([{ to: 'a@example.com' }]), until);
      expect(first).toEqual([]);
    });

    it('retries a failing handler with growing backoff until it succeeds', async () => {
      const attempts: { attempt: number; at: number }[] = [];
      await bus.consume(
        'flaky',
        async (m) => {
          attempts.push({ attempt: m.attempt, at: performance.now() });
          if (m.attempt < 3) throw new Error(`transient ${m.attempt}`);
        },
        fast,
      );
      await bus.enqueue('flaky', 'flaky.job', { x: 1 });
      await vi.waitFor(() => expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]), until);
      const [a1, a2, a3] = attempts.map((a) => a.at) as [number, number, number];
      expect(a2 - a1).toBeGreaterThanOrEqual(45);
      expect(a3 - a2).toBeGreaterThanOrEqual(95);
      expect(await bus.deadLetters('flaky')).toEqual([]);
    });

    it('dead-letters a message with the error once maxAttempts is used up', async () => {
      const attempts: number[] = [];
      await bus.consume(
        'doomed',
        async (m) => {
          attempts.push(m.attempt);
          throw new Error('encoder crashed: exit 42');
        },
        { ...fast, maxAttempts: 3 },
      );
      await bus.enqueue('doomed', 'doomed.job', { videoId: 'vid_9' }, { id: 'job_doomed' });
      await vi.waitFor(async () => expect(await bus.deadLetters('doomed')).toHaveLength(1), until);
      expect(attempts).toEqual([1, 2, 3]);
      const letters = await bus.deadLetters('doomed');
      expect(letters[0]?.error).toContain('encoder crashed: exit 42');
      expect(letters[0]?.envelope).toMatchObject({
        id: 'job_doomed',
        attempt: 3,
        data: { videoId: 'vid_9' },
      });
      // Reading does not remove.
      expect(await bus.deadLetters('doomed')).toEqual(letters);
      expect(await bus.deadLetters('never-used')).toEqual([]);
    });

    it('dead-letters at once on PermanentError', async () => {
      const attempts: number[] = [];
      await bus.subscribe(
        'thumbnails',
        ['video.uploaded.v1'],
        async (m) => {
          attempts.push(m.attempt);
          throw new PermanentError('video vid_404 not found');
        },
        fast,
      );
      await bus.publish('video.uploaded.v1', { videoId: 'vid_404' });
      await vi.waitFor(async () => expect(await bus.deadLetters('thumbnails')).toHaveLength(1), until);
      expect(attempts).toEqual([1]);
      const [letter] = await bus.deadLetters('thumbnails');
      expect(letter?.error).toContain('video vid_404 not found');
      expect(letter?.envelope).toMatchObject({ type: 'video.uploaded.v1', attempt: 1 });
    });

    it('runs at most prefetch handlers at once', async () => {
      const release = gate();
      let active = 0;
      let peak = 0;
      let done = 0;
      await bus.consume(
        'bounded',
        async () => {
          active++;
          peak = Math.max(peak, active);
          await release.promise;
          active--;
          done++;
        },
        { ...fast, prefetch: 2 },
      );
      for (let n = 0; n < 6; n++) await bus.enqueue('bounded', 'bounded.job', { n });
      await vi.waitFor(() => expect(active).toBe(2), until);
      expect(peak).toBe(2);
      release.open();
      await vi.waitFor(() => expect(done).toBe(6), until);
      expect(peak).toBe(2);
    });

    it('carries the publisher’s request id into the handler’s context', async () => {
      const seen: { envelope?: string; context?: string }[] = [];
      await bus.subscribe(
        'tracing',
        ['audit.logged.v1'],
        async (m) => void seen.push({ envelope: m.requestId, context: currentRequestId() }),
        fast,
      );
      await runWithContext({ requestId: 'req_contract' }, () => bus.publish('audit.logged.v1', {}));
      await bus.publish('audit.logged.v1', {});
      await vi.waitFor(() => expect(seen).toHaveLength(2), until);
      expect(seen[0]).toEqual({ envelope: 'req_contract', context: 'req_contract' });
      expect(seen[1]?.envelope).toBeUndefined();
      expect(seen[1]?.context).toMatch(/^req_/);
    });

    it('waits for in-flight handlers on close, then refuses work', async () => {
      const release = gate();
      let started = false;
      let finished = false;
      await bus.consume(
        'slow',
        async () => {
          started = true;
          await release.promise;
          finished = true;
        },
        fast,
      );
      await bus.enqueue('slow', 'slow.job', {});
      await vi.waitFor(() => expect(started).toBe(true), until);
      let finishedWhenClosed: boolean | undefined;
      const closing = bus.close().then(() => {
        finishedWhenClosed = finished;
      });
      // Give a close that does not wait the time to resolve early.
      await delay(100);
      expect(finishedWhenClosed).toBeUndefined();
      release.open();
      await closing;
      expect(finishedWhenClosed).toBe(true);
      await bus.close();
      await expect(bus.publish('late.event.v1', {})).rejects.toMatchObject({ code: 'unavailable' });
    });

    it('rejects invalid names, types and options', async () => {
      await expect(bus.publish('video.*.v1', {})).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect(bus.enqueue('', 'job', {})).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect(bus.consume('q', async () => {}, { prefetch: 0 })).rejects.toMatchObject({
        code: 'invalid_argument',
      });
      await expect(bus.subscribe('g', [], async () => {})).rejects.toMatchObject({
        code: 'invalid_argument',
      });
      await bus.ping();
    });
  });
}

describeBusContract('memory', 'memory:');
describeBusContract('rabbitmq', AMQP_URL);
