/**
 * Typed events over a real (in-process) bus: payloads are checked against
 * their schema when published and again when received.
 */
import { type EventData, eventSchemas } from '@wavecast/contracts/events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Bus, type Envelope, openBus } from '../src/bus.ts';
import { AppError } from '../src/errors.ts';
import { typedEvents } from '../src/events.ts';
import { eventually } from './support/poll.ts';

const userId = 'usr_01JD3Q8W5X6Y7Z8A9B0C1D2E3F';

const registered: EventData<'user.registered.v1'> = {
  user_id: userId,
  username: 'ada',
  role: 'user',
  created_at: '2024-05-01T10:00:00.000Z',
};

describe('typedEvents', () => {
  let bus: Bus;

  beforeEach(async () => {
    bus = await openBus('memory:');
  });
  afterEach(() => bus.close());

  it('delivers a valid event to its handler', async () => {
    const events = typedEvents(bus, eventSchemas);
    const got: [EventData<'user.registered.v1'>, Envelope][] = [];
    await events.subscribe('watcher', {
      'user.registered.v1': async (data, envelope) => void got.push([data, envelope]),
    });
    await events.publish('user.registered.v1', registered, { id: 'evt_fixed' });
    await eventually(async () => expect(got).toHaveLength(1));
    expect(got[0]![0]).toEqual(registered);
    expect(got[0]![1]).toMatchObject({ id: 'evt_fixed', type: 'user.registered.v1', attempt: 1 });
  });

  it('refuses to publish an invalid payload, and sends nothing', async () => {
    const events = typedEvents(bus, eventSchemas);
    const seen: string[] = [];
    await bus.subscribe('raw', ['user.#'], async (m) => void seen.push(m.type));

    const bad = { ...registered, user_id: 'not-an-id' };
    const err = await events.publish('user.registered.v1', bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'internal' });
    expect((err as AppError).message).toMatch(/^invalid user\.registered\.v1: \/user_id /);

    const missing = { user_id: userId, username: 'ada' } as unknown as typeof registered;
    await expect(events.publish('user.registered.v1', missing)).rejects.toMatchObject({
      code: 'internal',
      message: expect.stringMatching(/^invalid user\.registered\.v1: /),
    });
    await expect(
      events.publish('user.registered.v1', { ...registered, created_at: 'yesterday' }),
    ).rejects.toThrow(/^invalid user\.registered\.v1: \/created_at /);
    const unknown = 'user.exploded.v1' as 'user.registered.v1';
    await expect(events.publish(unknown, registered)).rejects.toMatchObject({
      code: 'internal',
      message: 'unknown event type "user.exploded.v1"',
    });

    // A valid event sent afterwards is the only thing that arrives.
    await events.publish('user.updated.v1', {
      user_id: userId,
      username: 'ada',
      updated_at: '2024-05-01T10:00:00.000Z',
    });
    await eventually(async () => expect(seen).toEqual(['user.updated.v1']));
  });

  it('dead-letters a received payload that fails its schema, without calling the handler', async () => {
    const events = typedEvents(bus, eventSchemas);
    const handled: string[] = [];
    await events.subscribe(
      'auth',
      {
        'user.banned.v1': async (data) => void handled.push(data.user_id),
      },
      { backoffMs: 10, maxAttempts: 5 },
    );
    // A peer that skipped validation (or an older, incompatible producer).
    await bus.publish('user.banned.v1', { user_id: userId, reason: 42 }, { id: 'evt_bad' });
    const valid: EventData<'user.banned.v1'> = {
      user_id: userId,
      username: 'ada',
      reason: 'spam',
      banned_by: 'usr_01JD3Q8W5X6Y7Z8A9B0C1D2E3G',
      banned_at: '2024-05-01T10:00:00.000Z',
    };
    await bus.publish('user.banned.v1', valid, { id: 'evt_good' });

    await eventually(async () => {
      expect(handled).toEqual([userId]);
      expect(await bus.deadLetters('auth')).toHaveLength(1);
    });
    const [dead] = await bus.deadLetters('auth');
    expect(dead!.envelope).toMatchObject({ id: 'evt_bad', type: 'user.banned.v1', attempt: 1 });
    expect(dead!.envelope.data).toEqual({ user_id: userId, reason: 42 });
    // Dead-lettered at once as permanent, naming what is wrong.
    expect(dead!.error).toMatch(/^PermanentError: invalid user\.banned\.v1: /);
  });

  it('subscribes only to the types it has handlers for', async () => {
    const events = typedEvents(bus, eventSchemas);
    const handled: string[] = [];
    await events.subscribe('gateway', {
      'user.deleted.v1': async (data) => void handled.push(data.username),
    });
    await events.publish('user.registered.v1', registered);
    await events.publish('user.deleted.v1', {
      user_id: userId,
      username: 'gone',
      deleted_at: '2024-05-01T10:00:00.000Z',
    });
    await eventually(async () => expect(handled).toEqual(['gone']));
    expect(await bus.deadLetters('gateway')).toEqual([]);
  });
});
