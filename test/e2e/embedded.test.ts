import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../../packages/kit/test/support/tcp-proxy.ts';
import { apiFlow } from './flow.ts';
import { Api } from './support/api.ts';
import { type Proc, stopAll, waitForHttp, wavecast } from './support/processes.ts';

describe('all-in-one process on embedded defaults', () => {
  let dataDir: string;
  let proc: Proc;
  let api: Api;
  let port: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wavecast-e2e-'));
    port = await closedPort();
    proc = wavecast('wavecast', ['start'], {
      WAVECAST_DATA_DIR: dataDir,
      HTTP_PORT: String(port),
      AUTH_RATE_LIMIT_PER_MINUTE: '10000',
    });
    await waitForHttp(proc, `http://127.0.0.1:${port}/readyz`, 60_000);
    api = new Api(`http://127.0.0.1:${port}`);
  }, 90_000);

  afterAll(async () => {
    await stopAll();
    await rm(dataDir, { recursive: true, force: true });
  });

  apiFlow(() => ({ api }));

  it('lets any origin read responses by default, and answers preflights', async () => {
    const res = await api.request('GET', '/healthz', { headers: { origin: 'https://any.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('retry-after');
    const preflight = await api.request('OPTIONS', '/v1/me', {
      headers: { origin: 'https://any.example', 'access-control-request-method': 'PATCH' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PATCH');
  });

  it('counts requests per route and status in /metrics, and unmatched ones apart', async () => {
    await api.get('/v1/users/nobody_here');
    await api.get('/v1/no/such/route');
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
    expect(text).toMatch(
      /wavecast_http_request_duration_seconds_count\{service="gateway",method="GET",route="\/v1\/users\/:id_or_username",status="404"\} [1-9]/,
    );
    expect(text).toMatch(
      /wavecast_http_request_duration_seconds_count\{service="gateway",method="GET",route="unmatched",status="404"\} [1-9]/,
    );
  });

  it('keeps its data across a restart (PGlite on disk)', async () => {
    const username = `persist${Date.now().toString(36)}`;
    const created = await api.post('/v1/auth/register', {
      username,
      email: `${username}@example.com`,
      password: 'correct horse battery',
    });
    expect(created.status).toBe(201);
    expect(await proc.stop()).toBe(0);
    proc = wavecast('wavecast', ['start'], { WAVECAST_DATA_DIR: dataDir, HTTP_PORT: String(port) });
    await waitForHttp(proc, `http://127.0.0.1:${port}/readyz`, 60_000);
    const login = await api.post('/v1/auth/login', { login: username, password: 'correct horse battery' });
    expect(login.status).toBe(200);
    // The signing key survived too: the token issued before the restart still verifies.
    expect((await api.get('/v1/me', created.body.access_token)).status).toBe(200);
  }, 90_000);
});
