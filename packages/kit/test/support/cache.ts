/**
 * Cache test fixtures: a unique key prefix per test on the shared Redis, a
 * cleanup that deletes exactly that prefix, and a TCP proxy that can cut the
 * connection to a real server (outage tests without restarting shared servers).
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { Redis } from 'ioredis';
import { ulid } from '../../src/ids.ts';

export const REDIS_URL = process.env.WAVECAST_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other test (or concurrent run) uses, e.g. `t:cache:01jd…:`. */
export function uniquePrefix(tag: string): string {
  return `t:${tag}:${ulid().toLowerCase()}:`;
}

/** Deletes every key under `prefix`; returns how many. SCAN, not KEYS, so a busy server is not blocked. */
export async function deleteRedisKeys(prefix: string, url = REDIS_URL): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
  return deleted;
}

export interface TcpProxy {
  readonly port: number;
  /** Drops every open connection and refuses new ones until `resume`. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

/** A local port forwarding to `host:port`; `cut()` simulates the server going away. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(port, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await listen(server, 0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
  const proxyPort = address.port;
  let listening = true;
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    if (listening) {
      listening = false;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  };
  return {
    port: proxyPort,
    cut: stop,
    async resume() {
      if (listening) return;
      await listen(server, proxyPort);
      listening = true;
    },
    close: stop,
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
