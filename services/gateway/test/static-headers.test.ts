import Fastify, { type FastifyReply } from 'fastify';
import { describe, expect, it } from 'vitest';
import { fastPathAvailable, staticHeaderSetter } from '../src/plugins/static-headers.ts';

const headers = { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' };

async function app(early?: (reply: FastifyReply) => void) {
  const set = staticHeaderSetter(headers);
  let n = 0;
  const fastify = Fastify({ logger: false, genReqId: () => `req_${++n}` });
  if (early) fastify.addHook('onRequest', async (_request, reply) => void early(reply));
  fastify.addHook('onRequest', async (request, reply) => set(reply, request.id));
  fastify.get('/', async (_request, reply) => reply.header('cache-control', 'no-store').send({ ok: true }));
  fastify.get('/text', async (_request, reply) => reply.type('text/plain').send('hi'));
  fastify.get('/framed', async (_request, reply) => reply.header('x-frame-options', 'SAMEORIGIN').send('ok'));
  await fastify.ready();
  return fastify;
}

describe('staticHeaderSetter', () => {
  it('finds where this Fastify keeps reply headers (else every reply takes the slower path)', () => {
    expect(fastPathAvailable).toBe(true);
  });

  it('sends the static headers and the request id with what each route adds, on every reply', async () => {
    const fastify = await app();
    const seen = new Set<string>();
    for (const [path, status] of [
      ['/', 200],
      ['/text', 200],
      ['/missing', 404],
    ] as const) {
      const res = await fastify.inject({ method: 'GET', url: path });
      expect(res.statusCode).toBe(status);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      seen.add(String(res.headers['x-request-id']));
    }
    // Each reply has its own id: the static object is copied, never shared.
    expect(seen).toEqual(new Set(['req_1', 'req_2', 'req_3']));
    const res = await fastify.inject({ method: 'GET', url: '/' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toEqual({ ok: true });
    expect((await fastify.inject({ method: 'GET', url: '/text' })).headers['cache-control']).toBeUndefined();
    await fastify.close();
  });

  it('keeps a header an earlier hook set, and lets a route override a static one', async () => {
    const fastify = await app((reply) => reply.header('x-early', 'yes'));
    const res = await fastify.inject({ method: 'GET', url: '/' });
    expect(res.headers['x-early']).toBe('yes');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const framed = await fastify.inject({ method: 'GET', url: '/framed' });
    expect(framed.headers['x-frame-options']).toBe('SAMEORIGIN');
    await fastify.close();
  });
});
