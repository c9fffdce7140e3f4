/**
 * Live sessions as an ingest node drives them, on PGlite + memory and on
 * PostgreSQL + Redis: authorize, refuse, resume within the grace, end once,
 * bans, and the clean-up after an ingest node is lost.
 */
import { eventSchemas } from '@wavecast/contracts/events';
import { typedEvents } from '@wavecast/kit/events';
import { newId } from '@wavecast/kit/ids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import { backends, type Harness, newOwner, openHarness, publish } from './support/harness.ts';

describe.each(backends)('live sessions on $name', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(backend, { reconnectGraceSeconds: 10 });
  });
  afterAll(() => h?.close());

  async function streamer() {
    const owner = newOwner();
    const own = await h.client.getOwnChannel(owner);
    return { ...owner, key: own.streamKey, channelId: own.channel!.id, name: own.channel!.name };
  }
  const end = (sessionId: string, extra: Record<string, unknown> = {}) =>
    h.client.endSession({ session: { case: 'sessionId', value: sessionId }, ...extra });
  const eventFor = (type: Parameters<Harness['eventsOf']>[0], sessionId: string) =>
    h.eventsOf(type).filter((e) => e.session_id === sessionId);
  /** stream.ended.v1 rows written to the outbox for a session: exactly what will be published. */
  const endedRows = async (sessionId: string) => {
    const rows = await h.db
      .kysely<any>('channels')
      .selectFrom('outbox')
      .select('data')
      .where('type', '=', 'stream.ended.v1')
      .execute();
    return rows
      .map((r: any) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data))
      .filter((d: any) => d.session_id === sessionId);
  };

  it('refuses unknown and malformed keys with PERMISSION_DENIED, and names bad ingest input', async () => {
    for (const key of [`live_${'A'.repeat(43)}`, 'hello', '', `${(await streamer()).key}x`]) {
      await expect(h.client.authorizePublish(publish(key)), key).rejects.toMatchObject({
        code: 'permission_denied',
      });
    }
    const s = await streamer();
    await expect(h.client.authorizePublish({ ...publish(s.key), ingestNode: '' })).rejects.toMatchObject({
      code: 'invalid_argument',
      fields: [{ field: 'ingest_node', message: 'is required' }],
    });
  });

  it('starts a session, emits stream.started.v1 and shows the channel live', async () => {
    const s = await streamer();
    const a = await h.client.authorizePublish(publish(s.key, 'ingest-a'));
    expect(a.sessionId).toMatch(/^liv_[0-9A-Z]{26}$/);
    expect(a.resumed).toBe(false);
    expect(a.channel).toMatchObject({ id: s.channelId, name: s.name });
    await eventually(async () => {
      expect(eventFor('stream.started.v1', a.sessionId)).toEqual([
        {
          session_id: a.sessionId,
          channel_id: s.channelId,
          channel: s.name,
          owner_id: s.ownerId,
          started_at: expect.any(String),
          ingest_node: 'ingest-a',
        },
      ]);
    });
    const { channel } = await h.client.getChannel({ name: s.name });
    expect(channel?.live).toMatchObject({
      sessionId: a.sessionId,
      viewerCount: 0,
      thumbnailUrl: '',
      playbackUrl: `/live/${s.name}/master.m3u8`,
    });
    await end(a.sessionId);
  });

  it('refuses a second publisher while one is connected; the same connection retrying gets its session', async () => {
    const s = await streamer();
    const request = publish(s.key, 'ingest-a');
    const a = await h.client.authorizePublish(request);
    await expect(h.client.authorizePublish(publish(s.key, 'ingest-b'))).rejects.toMatchObject({
      code: 'failed_precondition',
    });
    const retry = await h.client.authorizePublish(request);
    expect(retry.sessionId).toBe(a.sessionId);
    expect(retry.resumed).toBe(false);
    await end(a.sessionId);
  });

  it('resumes the same session when the publisher comes back within the grace, on any node', async () => {
    const s = await streamer();
    const first = publish(s.key, 'ingest-a');
    const a = await h.client.authorizePublish(first);
    const dropped = await h.client.publisherDisconnected({
      sessionId: a.sessionId,
      ingestNode: first.ingestNode,
      connectionId: first.connectionId,
    });
    expect(dropped).toMatchObject({ reconnectGraceSeconds: 10, ended: false });
    h.advance(9_000);
    const back = publish(s.key, 'ingest-b');
    const b = await h.client.authorizePublish(back);
    expect(b.sessionId).toBe(a.sessionId);
    expect(b.resumed).toBe(true);
    expect((await h.client.getChannel({ name: s.name })).channel?.live?.sessionId).toBe(a.sessionId);

    // The first node learns late: its disconnect is ignored, its end refused.
    await h.client.publisherDisconnected({
      sessionId: a.sessionId,
      ingestNode: first.ingestNode,
      connectionId: first.connectionId,
    });
    await expect(h.client.authorizePublish(publish(s.key, 'ingest-c'))).rejects.toMatchObject({
      code: 'failed_precondition',
    });
    await expect(
      end(a.sessionId, { ingestNode: first.ingestNode, connectionId: first.connectionId }),
    ).rejects.toMatchObject({ code: 'failed_precondition' });

    const ended = await end(a.sessionId, { ingestNode: back.ingestNode, connectionId: back.connectionId });
    expect(ended.alreadyEnded).toBe(false);
    await eventually(async () => expect(eventFor('stream.ended.v1', a.sessionId)).toHaveLength(1));
    // A resume is not a new start.
    expect(eventFor('stream.started.v1', a.sessionId)).toHaveLength(1);
  });

  it('starts a new session after the grace; the old one ends later with its recording', async () => {
    const s = await streamer();
    const first = publish(s.key, 'ingest-a');
    const a = await h.client.authorizePublish(first);
    await h.client.publisherDisconnected({ sessionId: a.sessionId });
    h.advance(10_001);
    const b = await h.client.authorizePublish(publish(s.key, 'ingest-a'));
    expect(b.sessionId).not.toBe(a.sessionId);
    expect(b.resumed).toBe(false);

    await end(a.sessionId, {
      reason: 'publisher_disconnected',
      recordingKey: `recordings/${a.sessionId}.mp4`,
      recordingDurationSeconds: 42.5,
      ingestNode: first.ingestNode,
      connectionId: first.connectionId,
    });
    await eventually(async () => {
      expect(eventFor('stream.ended.v1', a.sessionId)).toEqual([
        expect.objectContaining({
          reason: 'publisher_disconnected',
          recording: { storage_key: `recordings/${a.sessionId}.mp4`, duration_seconds: 42.5 },
        }),
      ]);
    });
    // Ending the old session leaves the new one in the directory.
    expect((await h.client.getChannel({ name: s.name })).channel?.live?.sessionId).toBe(b.sessionId);
    await end(b.sessionId);
  });

  it('uses the grace the ingest passes instead of its own', async () => {
    const s = await streamer();
    const a = await h.client.authorizePublish(publish(s.key));
    await h.client.publisherDisconnected({ sessionId: a.sessionId });
    h.advance(3_000);
    const b = await h.client.authorizePublish({ ...publish(s.key), reconnectGraceSeconds: 2 });
    expect(b.sessionId).not.toBe(a.sessionId);
    await end(a.sessionId);
    await end(b.sessionId);
  });

  it('ends a session once: EndSession is idempotent and one stream.ended.v1 tells the duration', async () => {
    const s = await streamer();
    const a = await h.client.authorizePublish(publish(s.key));
    h.advance(90_000);
    const first = await end(a.sessionId, { reason: 'ingest_shutdown' });
    expect(first.alreadyEnded).toBe(false);
    expect(first.durationSeconds).toBeCloseTo(90, 0);
    const again = await end(a.sessionId, { reason: 'other' });
    expect(again.alreadyEnded).toBe(true);
    expect(again.endedAt).toEqual(first.endedAt);
    const rows = await endedRows(a.sessionId);
    expect(rows).toEqual([
      {
        session_id: a.sessionId,
        channel_id: s.channelId,
        channel: s.name,
        owner_id: s.ownerId,
        started_at: expect.any(String),
        ended_at: expect.any(String),
        duration_seconds: expect.closeTo(90, 0),
        reason: 'ingest_shutdown',
        recording: null,
      },
    ]);
    await eventually(async () => expect(eventFor('stream.ended.v1', a.sessionId)).toEqual(rows));
    expect((await h.client.getChannel({ name: s.name })).channel?.live).toBeUndefined();
    expect((await h.client.publisherDisconnected({ sessionId: a.sessionId })).ended).toBe(true);

    await expect(end(newId('liv'))).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.client.endSession({})).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(end(a.sessionId, { recordingDurationSeconds: -1 })).rejects.toMatchObject({
      fields: [{ field: 'recording_duration_seconds', message: 'must be a number >= 0' }],
    });
  });

  it('ends a session by the key it was published with, even after a rotation', async () => {
    const s = await streamer();
    const a = await h.client.authorizePublish(publish(s.key));
    await h.client.rotateStreamKey({ ownerId: s.ownerId });
    const ended = await h.client.endSession({ session: { case: 'streamKey', value: s.key } });
    expect(ended).toMatchObject({ sessionId: a.sessionId, alreadyEnded: false });
    const twice = await h.client.endSession({ session: { case: 'streamKey', value: s.key } });
    expect(twice).toMatchObject({ sessionId: a.sessionId, alreadyEnded: true });
    await expect(
      h.client.endSession({ session: { case: 'streamKey', value: `live_${'B'.repeat(43)}` } }),
    ).rejects.toMatchObject({ code: 'not_found' });
  });

  it('takes over from a publisher whose ingest stopped its heartbeat', async () => {
    const s = await streamer();
    const a = await h.client.authorizePublish(publish(s.key, 'ingest-a'));
    // The entry expires when the heartbeat stops (here: removed, as after its TTL).
    await h.cache.delete(`live:entry:${s.channelId}`);
    await expect(h.client.authorizePublish(publish(s.key, 'ingest-b'))).rejects.toMatchObject({
      code: 'failed_precondition',
    });
    h.advance(31_000);
    const b = await h.client.authorizePublish(publish(s.key, 'ingest-b'));
    expect(b.sessionId).not.toBe(a.sessionId);
    expect((await endedRows(a.sessionId)).map((e: any) => e.reason)).toEqual(['ingest_lost']);
    await end(b.sessionId);
  });

  it('kicks the live publisher of a banned owner, refuses them, and lets them back after an unban', async () => {
    const s = await streamer();
    const a = await h.client.authorizePublish(publish(s.key, 'ingest-a'));
    const events = typedEvents(h.bus, eventSchemas);
    const bannedAt = new Date();
    await events.publish('user.banned.v1', {
      user_id: s.ownerId,
      username: s.username,
      reason: 'spam',
      banned_by: newId('usr'),
      banned_at: bannedAt.toISOString(),
    });
    await eventually(async () => {
      expect(eventFor('stream.kick.v1', a.sessionId)).toEqual([
        {
          session_id: a.sessionId,
          channel_id: s.channelId,
          channel: s.name,
          ingest_node: 'ingest-a',
          reason: 'owner_banned',
        },
      ]);
    });
    await expect(h.client.getChannel({ name: s.name })).rejects.toMatchObject({ code: 'not_found' });
    expect((await h.client.listLive({ pageSize: 100 })).channels.map((c) => c.name)).not.toContain(s.name);
    expect((await h.client.getOwnChannel(s)).channel?.disabled).toBe(true);
    await expect(h.client.authorizePublish(publish(s.key))).rejects.toMatchObject({
      code: 'permission_denied',
      message: expect.stringContaining('banned'),
    });
    await expect(
      h.client.updateLiveStats({ sessionId: a.sessionId, viewerCount: 3, thumbnailUrl: '' }),
    ).rejects.toMatchObject({ code: 'permission_denied' });
    // A redelivered ban kicks nobody twice.
    await h.instance.channels.onOwnerBanned(s.ownerId, bannedAt);
    await end(a.sessionId, { reason: 'kicked' });

    const unbannedAt = new Date(bannedAt.getTime() + 1_000);
    await events.publish('user.unbanned.v1', {
      user_id: s.ownerId,
      username: s.username,
      unbanned_by: newId('usr'),
      unbanned_at: unbannedAt.toISOString(),
    });
    await eventually(async () => expect((await h.client.getOwnChannel(s)).channel?.disabled).toBe(false));
    // The old ban arriving late changes nothing.
    await h.instance.channels.onOwnerBanned(s.ownerId, bannedAt);
    expect((await h.client.getOwnChannel(s)).channel?.disabled).toBe(false);
    const b = await h.client.authorizePublish(publish(s.key));
    await end(b.sessionId);
    const kicks = await h.db
      .kysely<any>('channels')
      .selectFrom('outbox')
      .select('data')
      .where('type', '=', 'stream.kick.v1')
      .execute();
    const mine = kicks.map((r: any) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data));
    expect(mine.filter((k: any) => k.session_id === a.sessionId)).toHaveLength(1);
  });

  it('sweeps sessions whose ingest is gone', async () => {
    const lost = await streamer();
    const dropped = await streamer();
    const a = await h.client.authorizePublish(publish(lost.key));
    const b = await h.client.authorizePublish(publish(dropped.key));
    await h.client.publisherDisconnected({ sessionId: b.sessionId });
    await h.cache.delete(`live:entry:${lost.channelId}`);
    h.advance(31_000);
    await h.instance.sessions.sweep();
    // One silent sweep is not enough to give up on a connected publisher.
    expect(await endedRows(a.sessionId)).toEqual([]);
    await h.instance.sessions.sweep();
    expect((await endedRows(a.sessionId)).map((e: any) => e.reason)).toEqual(['ingest_lost']);
    // A dropped publisher is given up on well after its grace (its ingest may still end it with a recording).
    expect(await endedRows(b.sessionId)).toEqual([]);
    h.advance(5 * 60_000);
    await h.instance.sessions.sweep();
    expect((await endedRows(b.sessionId)).map((e: any) => e.reason)).toEqual(['publisher_disconnected']);
  });
});

describe('logs', () => {
  it('never hold a stream key, whatever happens to it', async () => {
    const lines: string[] = [];
    const h = await openHarness(backends[0]!, { logLines: lines });
    try {
      const owner = newOwner();
      const { streamKey, channel } = await h.client.getOwnChannel(owner);
      await h.client.authorizePublish(publish(streamKey));
      await expect(h.client.authorizePublish(publish(streamKey))).rejects.toMatchObject({
        code: 'failed_precondition',
      });
      await h.client.endSession({ session: { case: 'streamKey', value: streamKey }, reason: 'done' });
      const rotated = await h.client.rotateStreamKey({ ownerId: owner.ownerId });
      await expect(h.client.authorizePublish(publish(streamKey))).rejects.toMatchObject({
        code: 'permission_denied',
      });
      await h.client.authorizePublish(publish(rotated.streamKey));
      await h.instance.channels.onOwnerBanned(owner.ownerId, new Date());
      // The capture works: the ban was logged, with the channel id.
      const text = lines.join('');
      expect(text).toContain(channel!.id);
      for (const key of [streamKey, rotated.streamKey]) expect(text).not.toContain(key.slice('live_'.length));
    } finally {
      await h.close();
    }
  });
});
