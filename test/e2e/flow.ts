/**
 * The REST journey of the foundation, as a user drives it: register, log in,
 * profile, refresh, logout, administration, and the bad inputs. Runs against
 * any deployment shape (all-in-one embedded, or separate processes).
 */
import { generateKeyPair, type JWK, SignJWT } from 'jose';
import { expect, it } from 'vitest';
import { eventually } from '../../packages/kit/test/support/poll.ts';
import { type Api, uniqueName } from './support/api.ts';

export interface Deployment {
  api: Api;
  /** The private signing key, when the test can read it (to mint expired tokens). */
  signingKey?: () => Promise<JWK & { kid: string }>;
}

interface Account {
  id: string;
  username: string;
  email: string;
  password: string;
  access: string;
  refresh: string;
}

const PASSWORD = 'correct horse battery';

export function apiFlow(deployment: () => Deployment) {
  const api = () => deployment().api;
  const register = async (prefix = 'u'): Promise<Account> => {
    const username = uniqueName(prefix);
    const email = `${username}@example.com`;
    const res = await api().post('/v1/auth/register', { username, email, password: PASSWORD });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return {
      id: res.body.user.id,
      username,
      email,
      password: PASSWORD,
      access: res.body.access_token,
      refresh: res.body.refresh_token,
    };
  };
  let admin: Account;

  it('makes the first registered user an admin and later ones plain users', async () => {
    admin = await register('admin');
    const me = await api().get('/v1/me', admin.access);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      username: admin.username,
      email: admin.email,
      role: 'admin',
      banned: false,
    });
    const other = await register();
    expect((await api().get('/v1/me', other.access)).body.role).toBe('user');
  });

  it('registers with the documented response shape', async () => {
    const username = uniqueName('shape');
    const res = await api().post('/v1/auth/register', {
      username,
      email: `${username}@example.com`,
      password: PASSWORD,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      token_type: 'Bearer',
      user: { username, email: `${username}@example.com` },
    });
    expect(res.body.user.id).toMatch(/^usr_[0-9A-Z]{26}$/);
    expect(res.body.expires_in).toBeGreaterThan(0);
    expect(res.body.access_token.split('.')).toHaveLength(3);
    expect(res.body.refresh_token).toMatch(/^rtk_/);
    expect(res.headers.get('x-request-id')).toMatch(/\S+/);
  });

  it('refuses duplicate usernames and emails whatever their case (409)', async () => {
    const a = await register();
    const sameName = await api().post('/v1/auth/register', {
      username: a.username.toUpperCase(),
      email: `other-${a.email}`,
      password: PASSWORD,
    });
    expect(sameName.status).toBe(409);
    expect(sameName.body.error).toMatchObject({ code: 'already_exists', message: 'username is taken' });
    const sameEmail = await api().post('/v1/auth/register', {
      username: uniqueName(),
      email: a.email.toUpperCase(),
      password: PASSWORD,
    });
    expect(sameEmail.status).toBe(409);
    expect(sameEmail.body.error.fields).toEqual([{ field: 'email', message: 'is already registered' }]);
  });

  it('rejects bad registrations with 400 naming the field, and creates nothing', async () => {
    const username = uniqueName('bad');
    const cases: [unknown, string][] = [
      [{ username, email: 'not-an-email', password: PASSWORD }, 'email'],
      [{ username, email: `${username}@example.com`, password: 'short' }, 'password'],
      [{ username, email: `${username}@example.com`, password: '' }, 'password'],
      [{ username, email: `${username}@example.com`, password: 'password123' }, 'password'],
      [{ username, email: `${username}@example.com`, password: PASSWORD, admin: true }, 'admin'],
      [{ username: 'x', email: `${username}@example.com`, password: PASSWORD }, 'username'],
      [{ email: `${username}@example.com`, password: PASSWORD }, 'username'],
    ];
    for (const [body, field] of cases) {
      const res = await api().post('/v1/auth/register', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('invalid_argument');
      expect(res.body.error.fields.map((f: { field: string }) => f.field)).toContain(field);
      expect(res.body.error.message).toMatch(/\S/);
    }
    expect((await api().get(`/v1/users/${username}`)).status).toBe(404);
  });

  it('rejects malformed JSON (400) and oversized bodies (413)', async () => {
    const malformed = await api().request('POST', '/v1/auth/login', { rawBody: '{"login": "a", ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatchObject({
      code: 'invalid_argument',
      message: 'request body is not valid JSON',
    });
    const huge = await api().post('/v1/auth/login', { login: 'a', password: 'x'.repeat(200_000) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
  });

  it('logs in by username or email; a wrong password is 401', async () => {
    const a = await register();
    for (const login of [a.username, a.email.toUpperCase()]) {
      const res = await api().post('/v1/auth/login', { login, password: PASSWORD });
      expect(res.status).toBe(200);
      expect(res.body.user.id).toBe(a.id);
    }
    const wrong = await api().post('/v1/auth/login', { login: a.username, password: 'not the password' });
    expect(wrong.status).toBe(401);
    const nobody = await api().post('/v1/auth/login', { login: uniqueName('ghost'), password: PASSWORD });
    expect(nobody.status).toBe(401);
    expect(nobody.body.error.message).toBe(wrong.body.error.message);
  });

  it('locks an account after repeated failures, even for the right password (429)', async () => {
    const a = await register();
    for (let i = 0; i < 5; i++) {
      expect(
        (await api().post('/v1/auth/login', { login: a.username, password: 'wrong password!' })).status,
      ).toBe(401);
    }
    const locked = await api().post('/v1/auth/login', { login: a.username, password: PASSWORD });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('reads and updates the profile; the public profile follows', async () => {
    const a = await register();
    const before = await api().get(`/v1/users/${a.username}`);
    expect(before.status).toBe(200);
    expect(before.body).not.toHaveProperty('email');
    const patched = await api().patch(
      '/v1/me',
      { display_name: 'Ada L.', bio: 'Streams chess.', avatar_url: 'https://example.com/a.png' },
      a.access,
    );
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ display_name: 'Ada L.', bio: 'Streams chess.' });
    await eventually(async () => {
      const after = await api().get(`/v1/users/${a.id}`);
      expect(after.body.display_name).toBe('Ada L.');
    });
    const byName = await api().get(`/v1/users/${a.username.toUpperCase()}`);
    expect(byName.body).toMatchObject({ id: a.id, display_name: 'Ada L.' });
    const bad = await api().patch('/v1/me', { avatar_url: 'javascript:alert(1)' }, a.access);
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual([{ field: 'avatar_url', message: 'must be an http(s) URL' }]);
    const unknown = await api().patch('/v1/me', { role: 'admin' }, a.access);
    expect(unknown.status).toBe(400);
    const empty = await api().patch('/v1/me', {}, a.access);
    expect(empty.status).toBe(400);
    expect((await api().get('/v1/me', a.access)).body.role).toBe('user');
  });

  it('answers 404 for an unknown user and 401 without a valid token', async () => {
    expect((await api().get(`/v1/users/${uniqueName('nobody')}`)).status).toBe(404);
    expect((await api().get('/v1/users/usr_01JD3Q5X8B0000000000000000')).status).toBe(404);
    const none = await api().get('/v1/me');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthenticated');
    expect((await api().get('/v1/me', 'not.a.jwt')).status).toBe(401);
  });

  it('rejects forged, wrong-kid and unsigned tokens (401)', async () => {
    const a = await register();
    const [h, p, s] = a.access.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${s.startsWith('A') ? `B${s.slice(1)}` : `A${s.slice(1)}`}`;
    expect((await api().get('/v1/me', flipped)).status).toBe(401);
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const foreign = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: 'key_01JD3Q5X8B0000000000000000' })
      .sign(privateKey);
    const res = await api().get('/v1/me', foreign);
    expect(res.status).toBe(401);
    expect(res.body.error.message).toBe('token was signed by an unknown key');
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const sameKidOtherKey = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: header.kid })
      .sign(privateKey);
    expect((await api().get('/v1/me', sameKidOtherKey)).status).toBe(401);
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${p}.`;
    expect((await api().get('/v1/me', unsigned)).status).toBe(401);
  });

  it('rejects an expired token (401)', async (ctx) => {
    const getKey = deployment().signingKey;
    if (!getKey) return ctx.skip();
    const a = await register();
    const claims = JSON.parse(Buffer.from(a.access.split('.')[1]!, 'base64url').toString());
    const jwk = await getKey();
    const { importJWK } = await import('jose');
    const key = await importJWK(jwk, 'EdDSA');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...claims, iat: now - 3600, exp: now - 60 })
      .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid })
      .sign(key);
    const res = await api().get('/v1/me', expired);
    expect(res.status).toBe(401);
    expect(res.body.error.message).toBe('token has expired');
    const fresh = await new SignJWT({ ...claims, iat: now, exp: now + 60 })
      .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid })
      .sign(key);
    expect((await api().get('/v1/me', fresh)).status).toBe(200);
  });

  it('rotates refresh tokens and ends the session when an old one is reused', async () => {
    const a = await register();
    const first = await api().post('/v1/auth/refresh', { refresh_token: a.refresh });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(a.refresh);
    expect((await api().get('/v1/me', first.body.access_token)).status).toBe(200);
    const reuse = await api().post('/v1/auth/refresh', { refresh_token: a.refresh });
    expect(reuse.status).toBe(401);
    // The whole family is gone: the newest refresh token and access token too.
    expect((await api().post('/v1/auth/refresh', { refresh_token: first.body.refresh_token })).status).toBe(
      401,
    );
    expect((await api().get('/v1/me', first.body.access_token)).status).toBe(401);
    expect((await api().post('/v1/auth/refresh', { refresh_token: 'rtk_garbage.x' })).status).toBe(401);
  });

  it('logs out: the access token and the refresh token stop working', async () => {
    const a = await register();
    const other = await api().post('/v1/auth/login', { login: a.username, password: PASSWORD });
    expect((await api().post('/v1/auth/logout', undefined, a.access)).status).toBe(204);
    expect((await api().get('/v1/me', a.access)).status).toBe(401);
    expect((await api().post('/v1/auth/refresh', { refresh_token: a.refresh })).status).toBe(401);
    // Another session of the same user is unaffected.
    expect((await api().get('/v1/me', other.body.access_token)).status).toBe(200);
    expect((await api().post('/v1/auth/logout')).status).toBe(401);
  });

  it('lets an admin list, ban and unban; others get 403', async () => {
    const a = await register('ban');
    const list = await api().get(`/v1/admin/users?q=${a.username}`, admin.access);
    expect(list.status).toBe(200);
    expect(list.body.users.map((u: { id: string }) => u.id)).toEqual([a.id]);
    expect((await api().get('/v1/admin/users', a.access)).status).toBe(403);
    expect((await api().post(`/v1/admin/users/${admin.id}/ban`, {}, a.access)).status).toBe(403);
    expect((await api().get('/v1/admin/users')).status).toBe(401);

    const ban = await api().post(`/v1/admin/users/${a.id}/ban`, { reason: 'spam' }, admin.access);
    expect(ban.status).toBe(200);
    expect(ban.body).toMatchObject({ banned: true, ban_reason: 'spam' });
    // Existing tokens die as soon as the ban event is handled.
    await eventually(async () => expect((await api().get('/v1/me', a.access)).status).toBe(401));
    expect((await api().post('/v1/auth/refresh', { refresh_token: a.refresh })).status).toBe(401);
    const login = await api().post('/v1/auth/login', { login: a.username, password: PASSWORD });
    expect(login.status).toBe(403);
    expect(login.body.error.message).toBe('this account is banned');
    const banned = await api().get('/v1/admin/users?banned=true&limit=100', admin.access);
    expect(banned.body.users.map((u: { id: string }) => u.id)).toContain(a.id);

    const unban = await api().post(`/v1/admin/users/${a.id}/unban`, undefined, admin.access);
    expect(unban.status).toBe(200);
    expect(unban.body.banned).toBe(false);
    const again = await api().post('/v1/auth/login', { login: a.username, password: PASSWORD });
    expect(again.status).toBe(200);
    expect((await api().get('/v1/me', again.body.access_token)).status).toBe(200);
  });

  it('refuses to ban an admin or an unknown user', async () => {
    expect((await api().post(`/v1/admin/users/${admin.id}/ban`, {}, admin.access)).status).toBe(412);
    expect(
      (await api().post('/v1/admin/users/usr_01JD3Q5X8B0000000000000000/ban', {}, admin.access)).status,
    ).toBe(404);
    expect((await api().post('/v1/admin/users/not-an-id/ban', {}, admin.access)).status).toBe(400);
  });

  it('pages through users with a cursor', async () => {
    const prefix = uniqueName('pg');
    const created: string[] = [];
    for (let i = 0; i < 3; i++) {
      const username = `${prefix}x${i}`;
      const res = await api().post('/v1/auth/register', {
        username,
        email: `${username}@example.com`,
        password: PASSWORD,
      });
      created.push(res.body.user.id);
    }
    const page1 = await api().get(`/v1/admin/users?q=${prefix}&limit=2`, admin.access);
    expect(page1.body.users).toHaveLength(2);
    expect(page1.body.next_cursor).toBeTruthy();
    const page2 = await api().get(
      `/v1/admin/users?q=${prefix}&limit=2&cursor=${page1.body.next_cursor}`,
      admin.access,
    );
    expect(page2.body.users).toHaveLength(1);
    expect(page2.body.next_cursor).toBeNull();
    const ids = [...page1.body.users, ...page2.body.users].map((u: { id: string }) => u.id);
    expect(ids).toEqual([...created].reverse());
  });

  it('publishes the JWKS, docs, health and metrics', async () => {
    const jwks = await api().get('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(jwks.body.keys[0]).not.toHaveProperty('d');
    const docs = await api().get('/docs/');
    expect(docs.status).toBe(200);
    expect(String(docs.body)).toContain('swagger');
    for (const audience of ['public', 'private', 'admin']) {
      const doc = await api().get(`/docs/openapi/${audience}.json`);
      expect(doc.status).toBe(200);
      expect(doc.body.openapi).toBe('3.1.0');
    }
    expect((await api().get('/healthz')).status).toBe(200);
    expect((await api().get('/readyz')).body).toEqual({ status: 'ready' });
    const metrics = await api().get('/metrics');
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toMatch(
      /wavecast_http_request_duration_seconds_count\{[^}]*route="\/v1\/me"/,
    );
  });
}
