/** Starting the platform under test and talking to its public API. */
import { type Child, startChild } from './children.ts';

/**
 * Limits opened wide so the benchmark measures the platform, not its brakes:
 * 0 means no practical limit, but the rate-limit hooks still run on every request.
 */
export const benchEnv = {
  RATE_LIMIT_PER_MINUTE: '0',
  AUTH_RATE_LIMIT_PER_MINUTE: '0',
  AUTH_LOGIN_MAX_FAILURES: '1000000',
  AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS: '1000000',
};

export interface Platform extends Child {
  url: string;
}

/** The all-in-one process (users + auth + gateway, PGlite in memory) in a child process. */
export async function startPlatform(env: Record<string, string> = {}): Promise<Platform> {
  const child = await startChild('platform', new URL('../servers/platform.ts', import.meta.url), {
    DATABASE_URL: 'pglite:memory',
    LOG_LEVEL: 'silent',
    ...benchEnv,
    ...env,
  });
  if (!child.ready.url) throw new Error('platform did not say where it listens');
  return { ...child, url: child.ready.url };
}

async function call(url: string, init: RequestInit, expected: number): Promise<unknown> {
  const res = await fetch(url, init);
  const body = await res.text();
  if (res.status !== expected) {
    throw new Error(`${init.method ?? 'GET'} ${url}: expected ${expected}, got ${res.status}: ${body}`);
  }
  return JSON.parse(body);
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export interface Account {
  id: string;
  username: string;
  password: string;
}

export async function register(base: string, username: string, password: string): Promise<Account> {
  const res = (await call(
    `${base}/v1/auth/register`,
    json({ username, email: `${username}@bench.example`, password }),
    201,
  )) as { user: { id: string } };
  return { id: res.user.id, username, password };
}

export async function login(base: string, login: string, password: string): Promise<void> {
  await call(`${base}/v1/auth/login`, json({ login, password }), 200);
}

export async function getUser(base: string, idOrUsername: string): Promise<{ id: string }> {
  return (await call(`${base}/v1/users/${idOrUsername}`, {}, 200)) as { id: string };
}
