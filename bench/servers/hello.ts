/** Baseline server: a bare Fastify hello-world, the ceiling for any Fastify route on this machine. */
import Fastify from 'fastify';
import { childRuntime, send } from '../lib/child-runtime.ts';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));

childRuntime(() => app.close());
const address = await app.listen({ host: '127.0.0.1', port: 0 });
send({ type: 'ready', url: address });
