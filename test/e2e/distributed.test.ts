import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from '@wavecast/contracts/gen/grpc/health/v1/health_pb.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../packages/kit/test/support/db.ts';
import { eventually } from '../../packages/kit/test/support/poll.ts';
import { closedPort, startTcpProxy, type TcpProxy } from '../../packages/kit/test/support/tcp-proxy.ts';
import { apiFlow } from './flow.ts';
import { Api, uniqueName } from './support/api.ts';
import { createInfra, type Infra } from './support/infra.ts';
import { publish } from './support/live.ts';
import { stopAll, waitForHttp, wavecast } from './support/processes.ts';

describe('separate processes on PostgreSQL, Redis and RabbitMQ', () => {
  let infra: Infra;
  let api: Api;
  let dbProxy: TcpProxy;
  let storageDir: string;
  const ingestQueues: string[] = [];
  let ports: {
    usersRpc: number;
    usersOps: number;
    authRpc: number;
    authOps: number;
    rtmp: number;
    storage: string;
  };

  beforeAll(async () => {
    infra = await createInfra();
    const target = new URL(infra.db.url);
    // Services reach PostgreSQL through a proxy the test can cut, to simulate an outage.
    dbProxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(infra.db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(dbProxy.port);
    const [usersRpc, usersOps, authRpc, authOps, channelsRpc, channelsOps, rtmp, origin, ingestOps, http] =
      (await Promise.all(Array.from({ length: 10 }, () => closedPort()))) as number[] as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
    ingestQueues.push(`ingest.kicks.http:__127.0.0.1:${origin}`);
    storageDir = await mkdtemp(join(tmpdir(), 'wavecast-dist-storage-'));
    ports = { usersRpc, usersOps, authRpc, authOps, rtmp, storage: storageDir };
    const shared = {
      DATABASE_URL: viaProxy.toString(),
      CACHE_URL: infra.redisUrl,
      CACHE_PREFIX: infra.cachePrefix,
      BUS_URL: infra.amqpUrl,
      BUS_PREFIX: infra.busPrefix,
      STORAGE_URL: `file:${storageDir}`,
      HOST: '127.0.0.1',
      USERS_RPC_TARGET: `http://127.0.0.1:${usersRpc}`,
      AUTH_RPC_TARGET: `http://127.0.0.1:${authRpc}`,
      CHANNELS_RPC_TARGET: `http://127.0.0.1:${channelsRpc}`,
      CHANNELS_STREAM_KEY_SECRET: randomBytes(32).toString('base64'),
    };
    const users = wavecast('users', ['start', 'users'], {
      ...shared,
      RPC_PORT: String(usersRpc),
      OPS_PORT: String(usersOps),
    });
    const auth = wavecast('auth', ['start', 'auth'], {
      ...shared,
      RPC_PORT: String(authRpc),
      OPS_PORT: String(authOps),
    });
    const channels = wavecast('channels', ['start', 'channels'], {
      ...shared,
      RPC_PORT: String(channelsRpc),
      OPS_PORT: String(channelsOps),
    });
    await waitForHttp(users, `http://127.0.0.1:${usersOps}/readyz`);
    await waitForHttp(auth, `http://127.0.0.1:${authOps}/readyz`);
    await waitForHttp(channels, `http://127.0.0.1:${channelsOps}/readyz`);
    const ingest = wavecast('ingest', ['start', 'ingest'], {
      ...shared,
      RTMP_HOST: '127.0.0.1',
      RTMP_PORT: String(rtmp),
      INGEST_ORIGIN_PORT: String(origin),
      INGEST_ORIGIN_URL: `http://127.0.0.1:${origin}`,
      OPS_PORT: String(ingestOps),
      LIVE_X264_PRESET: 'ultrafast',
    });
    const gateway = wavecast('gateway', ['start', 'gateway'], {
      ...shared,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(http),
      AUTH_RATE_LIMIT_PER_MINUTE: '10000',
    });
    await waitForHttp(ingest, `http://127.0.0.1:${ingestOps}/readyz`);
    await waitForHttp(gateway, `http://127.0.0.1:${http}/readyz`);
    api = new Api(`http://127.0.0.1:${http}`);
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    await dbProxy?.close();
    await infra?.cleanup(['auth', 'gateway.profiles', 'channels', ...ingestQueues]);
    await rm(storageDir, { recursive: true, force: true });
  });

  apiFlow(() => ({
    api,
    signingKey: async () => {
      const client = new pg.Client({ connectionString: infra.db.url });
      await client.connect();
      try {
        const { rows } = await client.query(
          'select private_jwk from auth.signing_keys where retired_at is null order by created_at desc limit 1',
        );
        return rows[0].private_jwk;
      } finally {
        await client.end();
      }
    },
  }));

  it('answers grpc.health.v1 and serves /metrics on every service', async () => {
    for (const [service, rpc, ops] of [
      ['users', ports.usersRpc, ports.usersOps],
      ['auth', ports.authRpc, ports.authOps],
    ] as const) {
      const health = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${rpc}` }));
      expect((await health.check({ service })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect((await health.check({ service: '' })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      await expect(health.check({ service: 'nope' })).rejects.toMatchObject({ code: Code.NotFound });
      const metrics = await fetch(`http://127.0.0.1:${ops}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(
        new RegExp(`wavecast_rpc_server_duration_seconds_count\\{service="${service}"`),
      );
      expect((await fetch(`http://127.0.0.1:${ops}/readyz`)).status).toBe(200);
    }
  });

  it('streams live through a separate ingest node, proxied by the gateway', async () => {
    const username = uniqueName('dlive');
    const reg = await api.post('/v1/auth/register', {
      username,
      email: `${username}@example.com`,
      password: 'correct horse battery',
    });
    const channel = await api.get('/v1/me/channel', reg.body.access_token);
    expect(channel.status).toBe(200);
    const pub = publish(`rtmp://127.0.0.1:${ports.rtmp}/live/${channel.body.stream_key}`, { seconds: 60 });
    try {
      await eventually(async () => {
        const live = (await api.get('/v1/live')).body.channels.map((c: { name: string }) => c.name);
        expect(live).toContain(channel.body.name);
      }, 30_000);
      let media = '';
      await eventually(async () => {
        const master = await api.get(`/live/${channel.body.name}/master.m3u8`);
        expect(master.status).toBe(200);
        const uri = String(master.body)
          .split('\n')
          .find((l) => l.endsWith('.m3u8'))!;
        media = `/live/${channel.body.name}/${uri}`;
        const text = String((await api.get(media)).body);
        expect(text.match(/^#EXTINF/gm)?.length ?? 0).toBeGreaterThanOrEqual(2);
      }, 30_000);
      const text = String((await api.get(media)).body);
      const seg = text.split('\n').find((l) => l.startsWith('seg-'))!;
      const res = await fetch(`${api.base}${media.replace(/[^/]+$/, seg)}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('video/iso.segment');
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    } finally {
      await pub.stop();
    }
    // The session ends with its recording, written by the ingest node to shared storage.
    await eventually(async () => {
      expect((await api.get(`/v1/channels/${channel.body.name}`)).body.live).toBe(false);
    }, 30_000);
    const dirs = await readdir(join(ports.storage, 'recordings'));
    expect(dirs.length).toBeGreaterThan(0);
  }, 120_000);

  it('answers 503 while the database is gone and recovers by itself', async () => {
    const username = uniqueName('outage');
    const reg = await api.post('/v1/auth/register', {
      username,
      email: `${username}@example.com`,
      password: 'correct horse battery',
    });
    expect(reg.status).toBe(201);
    await dbProxy.cut();
    try {
      const during = await api.get('/v1/me', reg.body.access_token);
      expect(during.status).toBe(503);
      expect(during.body.error.code).toBe('unavailable');
      const readyz = await api.get('/readyz');
      expect(readyz.status).toBe(503);
    } finally {
      await dbProxy.resume();
    }
    await eventually(async () => {
      expect((await api.get('/v1/me', reg.body.access_token)).status).toBe(200);
    }, 20_000);
  }, 60_000);
});

describe('wavecast migrate', () => {
  it('applies every schema once, then reports the database up to date', async () => {
    const db = await createTestDatabase();
    try {
      const first = wavecast('migrate', ['migrate'], { DATABASE_URL: db.url });
      expect(await first.exited, first.output()).toBe(0);
      expect(first.output()).toContain('users/001_users.sql');
      expect(first.output()).toContain('auth/001_auth.sql');
      const second = wavecast('migrate', ['migrate'], { DATABASE_URL: db.url });
      expect(await second.exited).toBe(0);
      expect(second.output().trim()).toBe('database is up to date');
    } finally {
      await db.drop();
    }
  });
});

describe('start-up failures', () => {
  it('exits with one readable line when the database is unreachable', async () => {
    const port = await closedPort();
    const proc = wavecast('users', ['start', 'users'], {
      DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${port}/wavecast`,
      RPC_PORT: '0',
      OPS_PORT: '0',
    });
    expect(await proc.exited).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      `wavecast users: cannot start: cannot connect to PostgreSQL at 127.0.0.1:${port}: connect ECONNREFUSED`,
    );
    expect(proc.output()).not.toContain('hunter2');
  });

  it('reports every invalid variable at once', async () => {
    const proc = wavecast('auth', ['start', 'auth'], {
      RPC_PORT: 'http',
      AUTH_ACCESS_TOKEN_TTL_SECONDS: '5',
      LOG_LEVEL: 'loud',
    });
    expect(await proc.exited).toBe(1);
    const out = proc.output().trim();
    expect(out.split('\n')).toHaveLength(1);
    expect(out).toContain('RPC_PORT must be an integer');
    expect(out).toContain('LOG_LEVEL must be one of');
    expect(out).toContain('AUTH_ACCESS_TOKEN_TTL_SECONDS must be >= 30');
  });

  it('refuses an unknown service with the usage', async () => {
    const proc = wavecast('cli', ['start', 'nonsense'], {});
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('unknown service "nonsense"');
  });
});
