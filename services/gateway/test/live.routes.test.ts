/**
 * /live/* on the gateway: the request reaches the live backend with the
 * viewer's identity and a signal that is aborted only when the client leaves
 * before the answer (which frees a blocked playlist or part request).
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LiveBackend, LiveViewer } from '../src/live-backend.ts';
import { liveRoutes } from '../src/routes/live.routes.ts';
import type { TypedApp } from '../src/typed.ts';

const calls: { url: string; viewer: LiveViewer; signal: AbortSignal }[] = [];
const backend: LiveBackend = {
  async handle(_method, url, viewer, signal) {
    calls.push({ url, viewer, signal: signal! });
    if (url.includes('blocking')) {
      await new Promise((resolve) => signal!.addEventListener('abort', resolve, { once: true }));
    }
    return { status: 200, headers: { 'content-type': 'text/plain', 'content-length': '2' }, body: 'ok' };
  },
};

let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  app = Fastify();
  liveRoutes(app as unknown as TypedApp, backend);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(() => app.close());

describe('gateway /live/*', () => {
  it('passes the viewer on, and aborts only when the client goes away before the answer', async () => {
    const res = await fetch(`${base}/live/demo/src/index.m3u8`, { headers: { 'user-agent': 'hls.js' } });
    expect([res.status, await res.text()]).toEqual([200, 'ok']);
    const done = calls.at(-1)!;
    expect(done.viewer).toEqual({ address: '127.0.0.1', userAgent: 'hls.js' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done.signal.aborted).toBe(false);

    const client = new AbortController();
    const blocked = fetch(`${base}/live/demo/src/blocking.m3u8`, { signal: client.signal });
    await vi.waitFor(() => expect(calls.at(-1)!.url).toContain('blocking'));
    client.abort();
    await expect(blocked).rejects.toThrow();
    await vi.waitFor(() => expect(calls.at(-1)!.signal.aborted).toBe(true));
  });
});
