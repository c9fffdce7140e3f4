/**
 * Baseline server for the listings: a bare Fastify answering `GET /<n>` with
 * the n-th of the JSON bodies in the file `BENCH_VOD_BODIES` names (a JSON
 * array of strings: the very bodies the platform answered), precomputed as
 * Buffers, with the listing's `content-type` and `cache-control`. What any
 * Fastify route returning a body of that size costs on this machine.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { childRuntime, send } from '../../lib/child-runtime.ts';

const file = process.env.BENCH_VOD_BODIES;
if (!file) throw new Error('BENCH_VOD_BODIES is not set');
const bodies = (JSON.parse(readFileSync(file, 'utf8')) as string[]).map((text) => Buffer.from(text));

const app = Fastify({ logger: false });
app.get<{ Params: { n: string } }>('/:n', async (request, reply) => {
  const body = bodies[Number(request.params.n)];
  if (!body) return reply.code(404).send();
  reply.header('content-type', 'application/json; charset=utf-8');
  reply.header('cache-control', 'public, max-age=5');
  return reply.send(body);
});

childRuntime(() => app.close());
const address = await app.listen({ host: '127.0.0.1', port: 0 });
send({ type: 'ready', url: address });
