/**
 * The live directory in the cache port, on PGlite + memory and on
 * PostgreSQL + Redis: ordering and pages, the ingest's heartbeat, and
 * entries that expire when an ingest node stops reporting.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import { backends, type Harness, newOwner, openHarness, publish } from './support/harness.ts';

async function goLive(h: Harness, prefix = 'Dir') {
  const owner = newOwner(prefix);
  const own = await h.client.getOwnChannel(owner);
  const auth = await h.client.authorizePublish(publish(own.streamKey));
  return { ...owner, name: own.channel!.name, channelId: own.channel!.id, sessionId: auth.sessionId };
}

describe.each(backends)('live directory on $name', (backend) => {
  let h: Harness;
  const live: string[] = [];
  beforeAll(async () => {
    h = await openHarness(backend);
  });
  afterEach(async () => {
    for (const sessionId of live.splice(0)) {
      await h.client.endSession({ session: { case: 'sessionId', value: sessionId } });
    }
  });
  afterAll(() => h?.close());

  const started = async (prefix?: string) => {
    const s = await goLive(h, prefix);
    live.push(s.sessionId);
    return s;
  };
  const names = (page: { channels: { name: string }[] }) => page.channels.map((c) => c.name);

  it('lists live channels by viewers or newest first, in pages', async () => {
    const a = await started();
    h.advance(1_000);
    const b = await started();
    h.advance(1_000);
    const c = await started();
    for (const [s, viewers] of [
      [a, 5],
      [b, 50],
      [c, 20],
    ] as const) {
      await h.client.updateLiveStats({ sessionId: s.sessionId, viewerCount: viewers, thumbnailUrl: '' });
    }
    const first = await h.client.listLive({ pageSize: 2 });
    expect(names(first)).toEqual([b.name, c.name]);
    expect(first.channels[0]).toMatchObject({
      channelId: b.channelId,
      title: `${b.username}'s stream`,
      live: { sessionId: b.sessionId, viewerCount: 50, playbackUrl: `/live/${b.name}/master.m3u8` },
    });
    expect(first.nextPageToken).not.toBe('');
    const second = await h.client.listLive({ pageSize: 2, pageToken: first.nextPageToken });
    expect(names(second)).toEqual([a.name]);
    expect(second.nextPageToken).toBe('');

    const newest = await h.client.listLive({ order: 2 });
    expect(names(newest)).toEqual([c.name, b.name, a.name]);

    await expect(h.client.listLive({ pageToken: 'garbage' })).rejects.toMatchObject({
      code: 'invalid_argument',
      fields: [{ field: 'page_token', message: 'is not a token of this listing' }],
    });
    // A token is bound to its order.
    await expect(
      h.client.listLive({ pageSize: 2, pageToken: first.nextPageToken, order: 2 }),
    ).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('takes viewers and thumbnails from the heartbeat, and refuses bad ones', async () => {
    const s = await started();
    await h.client.updateLiveStats({ sessionId: s.sessionId, viewerCount: 7, thumbnailUrl: '/thumbs/a.jpg' });
    await h.client.updateLiveStats({ sessionId: s.sessionId, viewerCount: 9, thumbnailUrl: '' });
    const { channel } = await h.client.getChannel({ name: s.name });
    expect(channel?.live).toMatchObject({ viewerCount: 9, thumbnailUrl: '/thumbs/a.jpg' });
    await h.client.updateLiveStats({
      sessionId: s.sessionId,
      viewerCount: 9,
      thumbnailUrl: 'https://cdn.example/t.jpg',
    });
    expect((await h.client.getChannel({ name: s.name })).channel?.live?.thumbnailUrl).toBe(
      'https://cdn.example/t.jpg',
    );
    for (const bad of ['javascript:alert(1)', '//evil.example/x.jpg', 'thumb.jpg']) {
      await expect(
        h.client.updateLiveStats({ sessionId: s.sessionId, viewerCount: 1, thumbnailUrl: bad }),
        bad,
      ).rejects.toMatchObject({ code: 'invalid_argument', fields: [{ field: 'thumbnail_url' }] });
    }
    await expect(
      h.client.updateLiveStats({
        sessionId: 'liv_01JD3Q5X8B0000000000000000',
        viewerCount: 1,
        thumbnailUrl: '',
      }),
    ).rejects.toMatchObject({ code: 'not_found' });
    await h.client.endSession({ session: { case: 'sessionId', value: s.sessionId } });
    live.splice(live.indexOf(s.sessionId), 1);
    await expect(
      h.client.updateLiveStats({ sessionId: s.sessionId, viewerCount: 1, thumbnailUrl: '' }),
    ).rejects.toMatchObject({ code: 'failed_precondition' });
    expect((await h.client.getChannel({ name: s.name })).channel?.live).toBeUndefined();
  });

  it('shows a new title in the directory while live', async () => {
    const s = await started();
    await h.client.updateChannel({ ownerId: s.ownerId, title: 'Now playing: chess', category: 'Games' });
    const entry = (await h.client.listLive({ pageSize: 100 })).channels.find((c) => c.name === s.name);
    expect(entry).toMatchObject({ title: 'Now playing: chess', category: 'Games' });
  });
});

describe.each(backends)('live directory expiry on $name', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    // Entries live 1 s without a heartbeat.
    h = await openHarness(backend, { liveEntryTtlSeconds: 1 });
  });
  afterAll(() => h?.close());

  it('drops a channel whose heartbeat stopped, removing its member as it lists', async () => {
    const silent = await goLive(h, 'Silent');
    const beating = await goLive(h, 'Beating');
    const heartbeat = setInterval(() => {
      h.client
        .updateLiveStats({ sessionId: beating.sessionId, viewerCount: 3, thumbnailUrl: '' })
        .catch(() => undefined);
    }, 200);
    try {
      expect(await h.cache.sortedCount('live:directory')).toBe(2);
      await eventually(async () => {
        const page = await h.client.listLive({ pageSize: 10 });
        expect(page.channels.map((c) => c.name)).toEqual([beating.name]);
      }, 10_000);
      // The stale member is gone from both orders, not only skipped.
      expect(await h.cache.sortedCount('live:directory')).toBe(1);
      expect((await h.client.listLive({ order: 2 })).channels.map((c) => c.name)).toEqual([beating.name]);
      expect(await h.cache.sortedCount('live:directory:newest')).toBe(1);
      expect((await h.client.getChannel({ name: silent.name })).channel?.live).toBeUndefined();
      // A late heartbeat of a session that has not ended brings it back.
      await h.client.updateLiveStats({ sessionId: silent.sessionId, viewerCount: 1, thumbnailUrl: '' });
      expect((await h.client.getChannel({ name: silent.name })).channel?.live?.sessionId).toBe(
        silent.sessionId,
      );
    } finally {
      clearInterval(heartbeat);
    }
  });
});
