/**
 * Channels over the public REST API and the RTMP server callbacks, on the
 * all-in-one platform started in this process: what a broadcaster, a
 * viewer, an operator's nginx-rtmp (form posts) or SRS (JSON) and an admin do.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAllInOneConfig, startAllInOne } from '../../apps/cli/src/all-in-one.ts';
import { eventually } from '../../packages/kit/test/support/poll.ts';
import { Api, type ApiResponse, uniqueName } from './support/api.ts';

const PASSWORD = 'correct horse battery';
const HOOK_SECRET = 'hook-secret-for-tests';

async function platform(dataDir: string, env: Record<string, string> = {}) {
  const running = await startAllInOne(
    loadAllInOneConfig({
      WAVECAST_DATA_DIR: dataDir,
      DATABASE_URL: 'pglite:memory',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      AUTH_RATE_LIMIT_PER_MINUTE: '10000',
      RTMP_PUBLIC_URL: 'rtmp://tv.example:1935/live',
      RTMP_HOOK_SECRET: HOOK_SECRET,
      ...env,
    }),
  );
  return { running, api: new Api(running.url) };
}

interface Account {
  id: string;
  username: string;
  access: string;
}

async function register(api: Api, prefix: string): Promise<Account> {
  const username = uniqueName(prefix);
  const res = await api.post('/v1/auth/register', {
    username,
    email: `${username}@example.com`,
    password: PASSWORD,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.user.id, username, access: res.body.access_token };
}

/** A form post the way nginx-rtmp sends its callbacks. */
function rtmpHook(
  api: Api,
  call: 'on_publish' | 'on_publish_done',
  fields: Record<string, string>,
  /** null: no secret at all. */
  secret: string | null = HOOK_SECRET,
): Promise<ApiResponse> {
  const query = secret === null ? '' : `?secret=${encodeURIComponent(secret)}`;
  return api.request('POST', `/v1/hooks/rtmp/${call}${query}`, {
    rawBody: new URLSearchParams({
      app: 'live',
      addr: '198.51.100.20',
      flashver: 'FMLE/3.0',
      tcurl: 'rtmp://tv.example:1935/live',
      call: call === 'on_publish' ? 'publish' : 'publish_done',
      type: 'live',
      ...fields,
    }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

let clientIds = 0;
const nextClientId = () => String(++clientIds);

describe('channels over REST (all-in-one)', () => {
  let dataDir: string;
  let p: Awaited<ReturnType<typeof platform>>;
  let admin: Account;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wavecast-channels-'));
    p = await platform(dataDir);
    admin = await register(p.api, 'admin');
  });
  afterAll(async () => {
    await p?.running.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function myChannel(account: Account) {
    const res = await p.api.get('/v1/me/channel', account.access);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  it('creates your channel on first use, with where and how to stream', async () => {
    const streamer = await register(p.api, 'Caster');
    const res = await p.api.get('/v1/me/channel', streamer.access);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({
      name: streamer.username.toLowerCase(),
      title: `${streamer.username}'s stream`,
      category: '',
      owner_id: streamer.id,
      ingest_url: 'rtmp://tv.example:1935/live',
      live: false,
      disabled: false,
      session_id: null,
      started_at: null,
      viewer_count: 0,
      playback_url: null,
    });
    expect(res.body.id).toMatch(/^chn_[0-9A-Z]{26}$/);
    expect(res.body.stream_key).toMatch(/^live_[A-Za-z0-9_-]{43}$/);
    // The same channel and key on every later call.
    expect((await myChannel(streamer)).stream_key).toBe(res.body.stream_key);
    expect((await p.api.get('/v1/me/channel')).status).toBe(401);
  });

  it('updates the title and category, and names every bad field', async () => {
    const streamer = await register(p.api, 'editor');
    await myChannel(streamer);
    const ok = await p.api.patch(
      '/v1/me/channel',
      { title: 'Speedrun night', category: 'Games' },
      streamer.access,
    );
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ title: 'Speedrun night', category: 'Games' });
    expect(ok.body.stream_key).toMatch(/^live_/);
    const shown = await p.api.get(`/v1/channels/${streamer.username}`);
    expect(shown.body).toMatchObject({ title: 'Speedrun night', category: 'Games', live: false });

    const bad = await p.api.patch(
      '/v1/me/channel',
      { title: 'x'.repeat(141), category: 'y'.repeat(51), extra: 1 },
      streamer.access,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: any) => f.field).sort()).toEqual(['category', 'extra', 'title']);
    const empty = await p.api.patch('/v1/me/channel', {}, streamer.access);
    expect(empty.status).toBe(400);
    expect(empty.body.error.fields).toEqual([{ field: 'body', message: 'must not be empty' }]);
    const twoLines = await p.api.patch('/v1/me/channel', { title: 'one\ntwo' }, streamer.access);
    expect(twoLines.status).toBe(400);
    expect(twoLines.body.error.fields).toEqual([
      { field: 'title', message: 'must be one line without control characters' },
    ]);
    const blank = await p.api.patch('/v1/me/channel', { title: '   ' }, streamer.access);
    expect(blank.body.error.fields).toEqual([{ field: 'title', message: 'must not be empty' }]);
  });

  it('answers 404 for a channel that does not exist', async () => {
    for (const name of ['nobody_streams_here', 'x', '%E2%9C%93']) {
      const res = await p.api.get(`/v1/channels/${name}`);
      expect(res.status, name).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
  });

  it('lets nginx-rtmp publish with the key, shows the channel live, and ends it on publish_done', async () => {
    const streamer = await register(p.api, 'live');
    const { stream_key: key, name } = await myChannel(streamer);
    const clientid = nextClientId();

    const allowed = await rtmpHook(p.api, 'on_publish', { name: key, clientid });
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(200);
    expect(allowed.body).toMatchObject({ code: 0, channel: name, resumed: false });
    expect(allowed.body.session_id).toMatch(/^liv_/);

    const shown = await p.api.get(`/v1/channels/${name.toUpperCase()}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      name,
      live: true,
      viewer_count: 0,
      thumbnail_url: null,
      playback_url: `/live/${name}/master.m3u8`,
    });
    expect(Date.parse(shown.body.started_at)).toBeGreaterThan(Date.now() - 60_000);
    expect((await myChannel(streamer)).session_id).toBe(allowed.body.session_id);
    const directory = await p.api.get('/v1/live?limit=100');
    expect(directory.body.channels.map((c: any) => c.name)).toContain(name);

    // A second publisher on the same channel is refused while the first is connected.
    const second = await rtmpHook(p.api, 'on_publish', { name: key, clientid: nextClientId() });
    expect(second.status).toBe(412);

    const done = await rtmpHook(p.api, 'on_publish_done', { name: key, clientid });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ code: 0, session_id: allowed.body.session_id });
    expect((await p.api.get(`/v1/channels/${name}`)).body).toMatchObject({ live: false, started_at: null });
    const after = await p.api.get('/v1/live?limit=100');
    expect(after.body.channels.map((c: any) => c.name)).not.toContain(name);
    // nginx may call it twice; ending an ended session is fine.
    expect((await rtmpHook(p.api, 'on_publish_done', { name: key, clientid })).status).toBe(200);
  });

  it('refuses a wrong key with 403 and a missing or wrong hook secret with 401', async () => {
    const streamer = await register(p.api, 'guard');
    const { stream_key: key } = await myChannel(streamer);
    const forged = `live_${'A'.repeat(43)}`;
    const wrongKey = await rtmpHook(p.api, 'on_publish', { name: forged, clientid: nextClientId() });
    expect(wrongKey.status).toBe(403);
    expect(wrongKey.body.error.code).toBe('permission_denied');
    expect((await rtmpHook(p.api, 'on_publish', { name: 'not-a-key', clientid: '1' })).status).toBe(403);
    expect((await rtmpHook(p.api, 'on_publish', { name: key, clientid: '1' }, null)).status).toBe(401);
    expect((await rtmpHook(p.api, 'on_publish', { name: key, clientid: '1' }, 'guess')).status).toBe(401);
    const noName = await rtmpHook(p.api, 'on_publish', { clientid: '1' });
    expect(noName.status).toBe(400);
    expect(noName.body.error.fields).toEqual([{ field: 'name', message: 'is required' }]);
    // Neither refusal started anything.
    expect((await myChannel(streamer)).live).toBe(false);
  });

  it('stops the old stream key at once when it is rotated', async () => {
    const streamer = await register(p.api, 'rotor');
    const before = await myChannel(streamer);
    const rotated = await p.api.post('/v1/me/channel/stream-key', undefined, streamer.access);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect(rotated.body.stream_key).toMatch(/^live_[A-Za-z0-9_-]{43}$/);
    expect(rotated.body.stream_key).not.toBe(before.stream_key);
    expect((await myChannel(streamer)).stream_key).toBe(rotated.body.stream_key);

    const old = await rtmpHook(p.api, 'on_publish', { name: before.stream_key, clientid: nextClientId() });
    expect(old.status).toBe(403);
    const clientid = nextClientId();
    const fresh = await rtmpHook(p.api, 'on_publish', { name: rotated.body.stream_key, clientid });
    expect(fresh.status).toBe(200);
    expect(
      (await rtmpHook(p.api, 'on_publish_done', { name: rotated.body.stream_key, clientid })).status,
    ).toBe(200);
  });

  it('accepts SRS-style JSON callbacks', async () => {
    const streamer = await register(p.api, 'srs');
    const { stream_key: key, name } = await myChannel(streamer);
    const body = {
      action: 'on_publish',
      client_id: 4242,
      ip: '198.51.100.30',
      vhost: 'v',
      app: 'live',
      stream: key,
    };
    const published = await p.api.post(`/v1/hooks/rtmp/on_publish?secret=${HOOK_SECRET}`, body);
    expect(published.status).toBe(200);
    expect(published.body).toMatchObject({ code: 0, channel: name });
    const unpublished = await p.api.post(`/v1/hooks/rtmp/on_publish_done?secret=${HOOK_SECRET}`, {
      ...body,
      action: 'on_unpublish',
    });
    expect(unpublished.status).toBe(200);
    expect((await p.api.get(`/v1/channels/${name}`)).body.live).toBe(false);
  });

  it('refuses a banned owner, takes a live one out of the directory, and lets them back after an unban', async () => {
    const streamer = await register(p.api, 'banme');
    const { stream_key: key, name } = await myChannel(streamer);
    const live = nextClientId();
    expect((await rtmpHook(p.api, 'on_publish', { name: key, clientid: live })).status).toBe(200);

    const ban = await p.api.post(`/v1/admin/users/${streamer.id}/ban`, { reason: 'spam' }, admin.access);
    expect(ban.status, JSON.stringify(ban.body)).toBe(200);
    await eventually(async () => {
      expect((await p.api.get(`/v1/channels/${name}`)).status).toBe(404);
    });
    const directory = await p.api.get('/v1/live?limit=100');
    expect(directory.body.channels.map((c: any) => c.name)).not.toContain(name);
    const refused = await rtmpHook(p.api, 'on_publish', { name: key, clientid: nextClientId() });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('banned');
    // Only the connection that published may end the session; the kicked one does.
    expect((await rtmpHook(p.api, 'on_publish_done', { name: key, clientid: 'other' })).status).toBe(412);
    expect((await rtmpHook(p.api, 'on_publish_done', { name: key, clientid: live })).status).toBe(200);

    expect((await p.api.post(`/v1/admin/users/${streamer.id}/unban`, undefined, admin.access)).status).toBe(
      200,
    );
    await eventually(async () => {
      expect((await p.api.get(`/v1/channels/${name}`)).status).toBe(200);
    });
    const clientid = nextClientId();
    expect((await rtmpHook(p.api, 'on_publish', { name: key, clientid })).status).toBe(200);
    expect((await rtmpHook(p.api, 'on_publish_done', { name: key, clientid })).status).toBe(200);
  });

  it('pages the live directory with a cursor, by viewers or newest first', async () => {
    const names: string[] = [];
    const keys: string[] = [];
    for (const prefix of ['pagea', 'pageb', 'pagec']) {
      const streamer = await register(p.api, prefix);
      const channel = await myChannel(streamer);
      expect(
        (await rtmpHook(p.api, 'on_publish', { name: channel.stream_key, clientid: prefix })).status,
      ).toBe(200);
      names.push(channel.name);
      keys.push(channel.stream_key);
    }
    try {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `/v1/live?limit=2&sort=newest${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = await p.api.get(query);
        expect(page.status, JSON.stringify(page.body)).toBe(200);
        expect(page.body.channels.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.channels.map((c: any) => c.name));
        cursor = page.body.next_cursor;
        pages += 1;
      } while (cursor && pages < 50);
      // Newest first: the three just started lead the directory, latest first.
      expect(seen.slice(0, 3)).toEqual([...names].reverse());
      expect(new Set(seen).size).toBe(seen.length);
      const first = (await p.api.get('/v1/live?limit=1')).body.channels[0];
      expect(Object.keys(first).sort()).toEqual(
        ['category', 'name', 'playback_url', 'started_at', 'thumbnail_url', 'title', 'viewer_count'].sort(),
      );

      const badCursor = await p.api.get('/v1/live?cursor=bm9wZQ');
      expect(badCursor.status).toBe(400);
      expect(badCursor.body.error.fields).toEqual([
        { field: 'cursor', message: 'is not a cursor of this listing' },
      ]);
      const badQuery = await p.api.get('/v1/live?limit=0&sort=loudest');
      expect(badQuery.status).toBe(400);
      expect(badQuery.body.error.fields.map((f: any) => f.field).sort()).toEqual(['limit', 'sort']);
    } finally {
      for (const [i, key] of keys.entries()) {
        await rtmpHook(p.api, 'on_publish_done', { name: key, clientid: ['pagea', 'pageb', 'pagec'][i]! });
      }
    }
  });
});

describe('the embedded stream key secret', () => {
  it('is generated once into the data directory (0600) and keeps keys working across a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'wavecast-channels-secret-'));
    const env = { DATABASE_URL: `pglite:${join(dataDir, 'pglite')}`, RTMP_HOOK_SECRET: '' };
    try {
      let p = await platform(dataDir, env);
      let key: string;
      try {
        const streamer = await register(p.api, 'keeper');
        key = (await p.api.get('/v1/me/channel', streamer.access)).body.stream_key;
        expect(key).toMatch(/^live_/);
      } finally {
        await p.running.close();
      }
      const file = join(dataDir, 'secrets', 'stream-key.secret');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const secret = await readFile(file, 'utf8');
      expect(Buffer.from(secret.trim(), 'base64')).toHaveLength(32);

      p = await platform(dataDir, env);
      try {
        expect(await readFile(file, 'utf8')).toBe(secret);
        // Without RTMP_HOOK_SECRET the hooks take no secret; the key still authorizes after the restart.
        const res = await rtmpHook(p.api, 'on_publish', { name: key, clientid: '1' }, null);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      } finally {
        await p.running.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
