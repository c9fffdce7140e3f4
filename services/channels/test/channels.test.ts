/**
 * Channels and stream keys through the RPC API, on PGlite + memory and on
 * PostgreSQL + Redis: creation on first use, updates, rotation, and what the
 * database holds (nothing a thief could stream with).
 */
import { randomBytes } from 'node:crypto';
import { createLogger } from '@wavecast/kit/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannels } from '../src/index.ts';
import { backends, type Harness, newOwner, openHarness, publish } from './support/harness.ts';

describe.each(backends)('channels on $name', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(backend);
  });
  afterAll(() => h?.close());

  it('creates the owner channel on the first call, then returns the same channel and key', async () => {
    const owner = newOwner('MixedCase');
    const first = await h.client.getOwnChannel(owner);
    expect(first.channel).toMatchObject({
      ownerId: owner.ownerId,
      name: owner.username.toLowerCase(),
      title: `${owner.username}'s stream`,
      category: '',
      disabled: false,
    });
    expect(first.channel?.id).toMatch(/^chn_[0-9A-Z]{26}$/);
    expect(first.channel?.live).toBeUndefined();
    expect(first.streamKey).toMatch(/^live_[A-Za-z0-9_-]{43}$/);
    const again = await h.client.getOwnChannel(owner);
    expect(again.channel?.id).toBe(first.channel?.id);
    expect(again.streamKey).toBe(first.streamKey);
  });

  it('creates one channel when first calls race', async () => {
    const owner = newOwner();
    const all = await Promise.all(Array.from({ length: 5 }, () => h.client.getOwnChannel(owner)));
    expect(new Set(all.map((r) => r.channel?.id)).size).toBe(1);
    expect(new Set(all.map((r) => r.streamKey)).size).toBe(1);
  });

  it('names bad owner input', async () => {
    await expect(h.client.getOwnChannel({ ownerId: 'bob', username: '1 bad' })).rejects.toMatchObject({
      code: 'invalid_argument',
      fields: [
        { field: 'owner_id', message: 'must be a usr_… id' },
        { field: 'username', message: expect.stringContaining('3-30 characters') },
      ],
    });
  });

  it('updates the title and category, and refuses bad ones naming each field', async () => {
    const owner = newOwner();
    await h.client.getOwnChannel(owner);
    const { channel } = await h.client.updateChannel({
      ownerId: owner.ownerId,
      title: '  Late night speedruns  ',
      category: 'Games',
    });
    expect(channel).toMatchObject({ title: 'Late night speedruns', category: 'Games' });
    const titleOnly = await h.client.updateChannel({ ownerId: owner.ownerId, title: 'Chess' });
    expect(titleOnly.channel).toMatchObject({ title: 'Chess', category: 'Games' });
    const cleared = await h.client.updateChannel({ ownerId: owner.ownerId, category: '' });
    expect(cleared.channel).toMatchObject({ title: 'Chess', category: '' });

    await expect(
      h.client.updateChannel({ ownerId: owner.ownerId, title: 't'.repeat(141), category: 'c'.repeat(51) }),
    ).rejects.toMatchObject({
      code: 'invalid_argument',
      fields: [
        { field: 'title', message: 'must be at most 140 characters' },
        { field: 'category', message: 'must be at most 50 characters' },
      ],
    });
    await expect(h.client.updateChannel({ ownerId: owner.ownerId, title: ' ' })).rejects.toMatchObject({
      fields: [{ field: 'title', message: 'must not be empty' }],
    });
    await expect(
      h.client.updateChannel({ ownerId: owner.ownerId, category: 'a\u0007b' }),
    ).rejects.toMatchObject({ fields: [{ field: 'category', message: expect.stringContaining('control') }] });
    await expect(h.client.updateChannel({ ownerId: newOwner().ownerId, title: 'x' })).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('finds a channel by name whatever its case; an unknown name is not found', async () => {
    const owner = newOwner('Shown');
    const { channel } = await h.client.getOwnChannel(owner);
    const found = await h.client.getChannel({ name: owner.username.toUpperCase() });
    expect(found.channel?.id).toBe(channel?.id);
    for (const name of ['nobody_here', '', 'a', '../etc', 'x'.repeat(200)]) {
      await expect(h.client.getChannel({ name }), name).rejects.toMatchObject({ code: 'not_found' });
    }
  });

  it('rotates the stream key: the old one stops authorizing at once', async () => {
    const owner = newOwner();
    const old = (await h.client.getOwnChannel(owner)).streamKey;
    const rotated = await h.client.rotateStreamKey({ ownerId: owner.ownerId });
    expect(rotated.streamKey).toMatch(/^live_[A-Za-z0-9_-]{43}$/);
    expect(rotated.streamKey).not.toBe(old);
    expect((await h.client.getOwnChannel(owner)).streamKey).toBe(rotated.streamKey);
    await expect(h.client.authorizePublish(publish(old))).rejects.toMatchObject({
      code: 'permission_denied',
    });
    const ok = await h.client.authorizePublish(publish(rotated.streamKey));
    await h.client.endSession({ session: { case: 'sessionId', value: ok.sessionId } });
    await expect(h.client.rotateStreamKey({ ownerId: newOwner().ownerId })).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('stores neither the key nor anything that authorizes in the database', async () => {
    const owner = newOwner();
    const { streamKey, channel } = await h.client.getOwnChannel(owner);
    const row = await h.db
      .kysely<any>('channels')
      .selectFrom('channels')
      .selectAll()
      .where('id', '=', channel!.id)
      .executeTakeFirstOrThrow();
    const stored: Buffer[] = [];
    const texts: string[] = [];
    for (const value of Object.values(row)) {
      if (value instanceof Uint8Array) {
        const bytes = Buffer.from(value);
        stored.push(bytes);
        texts.push(
          bytes.toString('hex'),
          bytes.toString('base64'),
          bytes.toString('base64url'),
          bytes.toString('latin1'),
        );
      } else {
        texts.push(String(value instanceof Date ? value.toISOString() : value));
      }
    }
    const body = streamKey.slice('live_'.length);
    for (const text of texts) {
      expect(text).not.toContain(body);
      expect(text).not.toContain(Buffer.from(body, 'base64url').toString('hex'));
    }
    // Whatever a thief would try with the stored values is refused.
    const attempts = stored.flatMap((bytes) => [
      `live_${bytes.toString('base64url').slice(0, 43)}`,
      `live_${bytes.subarray(bytes.length - 32).toString('base64url')}`,
      bytes.toString('base64url'),
      bytes.toString('hex'),
      bytes.toString('base64'),
    ]);
    expect(attempts.some((a) => /^live_[A-Za-z0-9_-]{43}$/.test(a))).toBe(true);
    for (const attempt of attempts) {
      await expect(h.client.authorizePublish(publish(attempt)), attempt).rejects.toMatchObject({
        code: 'permission_denied',
      });
    }
  });

  it('cannot show or accept keys under another secret: the database alone is not enough', async () => {
    const owner = newOwner();
    const { streamKey } = await h.client.getOwnChannel(owner);
    const other = await createChannels({
      db: h.db,
      cache: h.cache,
      bus: h.bus,
      logger: createLogger({ service: 'channels', level: 'silent' }),
      config: { liveEntryTtlSeconds: 30, reconnectGraceSeconds: 10 },
      streamKeySecret: randomBytes(32),
      sweepEveryMs: 0,
    });
    try {
      await expect(other.channels.getOwn(owner.ownerId, owner.username)).rejects.toMatchObject({
        code: 'failed_precondition',
      });
      await expect(
        other.sessions.authorize({ streamKey, ingestNode: 'n', connectionId: '', clientAddr: '' }),
      ).rejects.toMatchObject({ code: 'permission_denied' });
      // Rotating works, and gives a key this secret can show again.
      const rotated = await other.channels.rotateStreamKey(owner.ownerId);
      expect((await other.channels.getOwn(owner.ownerId, owner.username)).streamKey).toBe(rotated.streamKey);
    } finally {
      await other.stop();
    }
  });
});
