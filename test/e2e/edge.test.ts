/**
 * The gateway's edge behaviour (request ids, CORS, security headers, rate
 * limits, error shapes) on the all-in-one platform started in this process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, uniqueName } from './support/api.ts';
import { startTestPlatform, type TestPlatform } from './support/platform.ts';

describe('gateway edge', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startTestPlatform('edge', { CORS_ORIGINS: 'https://app.example', RATE_LIMIT_PER_MINUTE: '40' });
  });
  afterAll(() => p?.close());

  it('echoes a sane request id and replaces an unsafe one', async () => {
    const given = await p.api.request('GET', '/healthz', { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(given.headers.get('x-request-id')).toBe('trace-abc.123');
    const unsafe = await p.api.request('GET', '/healthz', {
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^req_[0-9A-Z]{26}$/);
    const missing = await p.api.get('/v1/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({
      code: 'not_found',
      request_id: missing.headers.get('x-request-id'),
    });
    expect(missing.headers.get('x-request-id')).toMatch(/^req_[0-9A-Z]{26}$/);
    // A request that matches no route gets the same edge headers as any other.
    expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
    expect(missing.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('answers CORS preflights for configured origins only', async () => {
    const allowed = await p.api.request('OPTIONS', '/v1/me', {
      headers: { origin: 'https://app.example', 'access-control-request-method': 'PATCH' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(allowed.headers.get('access-control-allow-methods')).toMatch(/PATCH.*DELETE/);
    expect(allowed.headers.get('access-control-max-age')).toBe('600');
    const withHeaders = await p.api.request('OPTIONS', '/v1/videos/vid_x', {
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'DELETE',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(withHeaders.status).toBe(204);
    expect(withHeaders.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect(withHeaders.headers.get('vary')).toBe('Origin, Access-Control-Request-Headers');
    const other = await p.api.request('OPTIONS', '/v1/me', {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'PATCH' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const notPreflight = await p.api.request('OPTIONS', '/v1/me');
    expect(notPreflight.status).toBe(400);
  });

  it('lets listed origins, and only those, read responses', async () => {
    const listed = await p.api.request('GET', '/healthz', { headers: { origin: 'https://app.example' } });
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(listed.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(listed.headers.get('vary')).toBe('Origin');
    const other = await p.api.request('GET', '/healthz', { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('vary')).toBe('Origin');
    // Media is for players on any site: its own answer, whatever the list says.
    const media = await p.api.request('OPTIONS', '/media/videos/vid_x/master.m3u8', {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(media.status).toBe(204);
    expect(media.headers.get('access-control-allow-origin')).toBe('*');
    expect(media.headers.get('access-control-allow-headers')).toContain('range');
  });

  it('sends security headers', async () => {
    const res = await p.api.get('/healthz');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('lets the docs UI load its own scripts', async () => {
    const res = await p.api.get('/docs/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('refuses a body that is not JSON with a clear message', async () => {
    const res = await p.api.request('POST', '/v1/auth/login', {
      rawBody: 'login=a&password=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('request body must be application/json');
  });

  it('names every invalid field at once', async () => {
    const res = await p.api.post('/v1/auth/register', {
      username: '1x',
      email: 'nope',
      password: 'short',
      extra: 1,
    });
    expect(res.status).toBe(400);
    const fields = [...res.body.error.fields].sort((a: any, b: any) => a.field.localeCompare(b.field));
    expect(fields).toEqual([
      { field: 'email', message: 'must be an email address' },
      { field: 'extra', message: 'is not a known field' },
      { field: 'password', message: 'must NOT have fewer than 8 characters' },
      { field: 'username', message: 'must NOT have fewer than 3 characters' },
    ]);
  });

  it('rate-limits each client with 429 and Retry-After', async () => {
    const name = uniqueName('rl');
    let limited: ApiResponse | undefined;
    // Windows are fixed to the clock, so a run that straddles a minute
    // boundary starts counting again: 2 × 40 + 1 requests always cross a limit.
    for (let i = 0; i < 81 && !limited; i++) {
      const res = await p.api.get(`/v1/users/${name}`);
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(404);
    }
    expect(limited, 'no request was limited').toBeDefined();
    expect(limited!.body.error.code).toBe('resource_exhausted');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    // Probes are never limited, so an orchestrator keeps seeing the truth.
    expect((await p.api.get('/healthz')).status).toBe(200);
  });
});
