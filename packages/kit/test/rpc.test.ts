/**
 * The RPC building blocks over real ConnectRPC: a tiny users service (only
 * GetUser) whose behaviour each test sets, reached in-process and over gRPC on
 * a real HTTP/2 server. Callers must see the same AppErrors either way.
 */
import type { HandlerContext, Transport } from '@connectrpc/connect';
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from '@wavecast/contracts/gen/grpc/health/v1/health_pb.js';
import { type GetUserRequest, UsersService } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import { afterEach, describe, expect, it } from 'vitest';
import { currentRequestId, runWithContext } from '../src/context.ts';
import { AppError, errorCodes } from '../src/errors.ts';
import { startOpsServer } from '../src/http.ts';
import { createLogger } from '../src/log.ts';
import { createMetrics, type Metrics } from '../src/metrics.ts';
import {
  type ClientOptions,
  createClient,
  inProcessTransport,
  networkTransport,
  type ReadyCheck,
  type Routes,
  type RpcServer,
  registerHealth,
  serverInterceptors,
  startRpcServer,
} from '../src/rpc.ts';
import { eventually } from './support/poll.ts';

const logger = createLogger({ service: 'rpc-test', level: 'silent' });

type Behaviour = (req: GetUserRequest, ctx: HandlerContext) => Promise<void>;

/** A users service with only GetUser: counts calls, records request ids, answers with its own name as id. */
class FakeUsers {
  readonly name: string;
  calls = 0;
  readonly requestIds: (string | undefined)[] = [];
  behaviour: Behaviour = async () => {};

  constructor(name: string) {
    this.name = name;
  }

  readonly routes: Routes = (router) => {
    router.service(UsersService, {
      getUser: async (req, ctx) => {
        this.calls++;
        this.requestIds.push(currentRequestId());
        await this.behaviour(req, ctx);
        return { user: { id: this.name, username: req.key.value ?? '' } };
      },
    });
  };
}

/** Resolves after `ms`, or as soon as the call is cancelled (so servers can close promptly). */
const slow = (ms: number): Behaviour => {
  return (_req, ctx) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function clientOptions(metrics: Metrics, extra: Partial<ClientOptions> = {}): ClientOptions {
  return { caller: 'test', logger, metrics, backoffMs: 5, ...extra };
}

async function serve(routes: Routes, metrics: Metrics): Promise<RpcServer> {
  const server = await startRpcServer({
    routes,
    interceptors: serverInterceptors({ service: 'users', logger, metrics }),
    host: '127.0.0.1',
    port: 0,
  });
  let closed = false;
  cleanups.push(() => (closed ? undefined : server.close()));
  return {
    port: server.port,
    close: async () => {
      closed = true;
      await server.close();
    },
  };
}

function network(target: string, metrics: Metrics, extra: Partial<ClientOptions> = {}): Transport {
  const transport = networkTransport(target, clientOptions(metrics, extra));
  cleanups.push(() => transport.close());
  return transport;
}

type Connect = (routes: Routes, metrics: Metrics, extra?: Partial<ClientOptions>) => Promise<Transport>;

const transports: [string, Connect][] = [
  [
    'in-process',
    async (routes, metrics, extra) =>
      inProcessTransport(
        routes,
        serverInterceptors({ service: 'users', logger, metrics }),
        clientOptions(metrics, extra),
      ),
  ],
  [
    'network',
    async (routes, metrics, extra) => {
      const server = await serve(routes, metrics);
      return network(`http://127.0.0.1:${server.port}`, metrics, extra);
    },
  ],
];

const getUser = (transport: Transport, username = 'ada', opts?: { timeoutMs?: number }) =>
  createClient(UsersService, transport).getUser({ key: { case: 'username', value: username } }, opts);

const failure = (promise: Promise<unknown>): Promise<AppError> =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(AppError);
      return err as AppError;
    },
  );

describe.each(transports)('RPC over the %s transport', (_name, connect) => {
  it('answers a call', async () => {
    const users = new FakeUsers('one');
    const transport = await connect(users.routes, createMetrics({ defaultMetrics: false }));
    const res = await getUser(transport, 'grace');
    expect(res.user).toMatchObject({ id: 'one', username: 'grace' });
    expect(users.calls).toBe(1);
  });

  it('round-trips an AppError with its code, message, fields and retry-after', async () => {
    const users = new FakeUsers('one');
    const transport = await connect(users.routes, createMetrics({ defaultMetrics: false }));
    const fields = [
      { field: 'username', message: 'must be 3-30 characters' },
      { field: 'email', message: 'is already registered' },
      // Header values are ASCII only; these must still arrive intact.
      { field: 'display_name', message: 'must not contain “é”, … or 🎥' },
    ];
    users.behaviour = async () => {
      throw new AppError('invalid_argument', 'username and email are wrong', { fields });
    };
    const invalid = await failure(getUser(transport));
    expect(invalid).toMatchObject({
      code: 'invalid_argument',
      message: 'username and email are wrong',
      fields,
    });

    users.behaviour = async () => {
      throw new AppError('resource_exhausted', 'too many failed logins; try again in 42 s', {
        retryAfterSeconds: 42,
      });
    };
    const throttled = await failure(getUser(transport));
    expect(throttled).toMatchObject({
      code: 'resource_exhausted',
      message: 'too many failed logins; try again in 42 s',
      retryAfterSeconds: 42,
      fields: [],
    });
  });

  it('keeps every error code across the wire', async () => {
    const users = new FakeUsers('one');
    const transport = await connect(users.routes, createMetrics({ defaultMetrics: false }), { retries: 0 });
    for (const code of errorCodes) {
      users.behaviour = async () => {
        throw new AppError(code, `failed with ${code}`);
      };
      const err = await failure(getUser(transport));
      expect({ code: err.code, message: err.message }).toEqual({ code, message: `failed with ${code}` });
    }
  });

  it('sends a non-AppError as a bare internal error, without its cause', async () => {
    const users = new FakeUsers('one');
    const transport = await connect(users.routes, createMetrics({ defaultMetrics: false }));
    users.behaviour = async () => {
      throw new Error('connection to postgres://admin:hunter2@db failed');
    };
    const err = await failure(getUser(transport));
    expect(err.code).toBe('internal');
    expect(err.message).toBe('internal error');
    expect(err.fields).toEqual([]);
    // Nothing of the original error travels, not even inside the cause chain.
    const cause = err.cause as Error & { rawMessage?: string };
    expect(cause.rawMessage).toBe('internal error');
    expect(String(cause.cause ?? '')).not.toContain('hunter2');
    expect(users.calls).toBe(1);
  });

  it('retries UNAVAILABLE and succeeds once the server recovers', async () => {
    const users = new FakeUsers('one');
    const metrics = createMetrics({ defaultMetrics: false });
    const transport = await connect(users.routes, metrics);
    users.behaviour = async () => {
      if (users.calls <= 2) throw new AppError('unavailable', 'database unavailable');
    };
    const res = await getUser(transport);
    expect(res.user?.id).toBe('one');
    expect(users.calls).toBe(3);
    // One client observation for the whole call, after its retries.
    const client = await metrics.rpcClientDuration.get();
    const counts = client.values.filter((v) => v.metricName?.endsWith('_count'));
    expect(counts).toEqual([
      expect.objectContaining({ value: 1, labels: expect.objectContaining({ code: 'ok' }) }),
    ]);
  });

  it('gives up after its retries with unavailable', async () => {
    const users = new FakeUsers('one');
    const transport = await connect(users.routes, createMetrics({ defaultMetrics: false }), { retries: 2 });
    users.behaviour = async () => {
      throw new AppError('unavailable', 'database unavailable');
    };
    const err = await failure(getUser(transport));
    expect(err).toMatchObject({ code: 'unavailable', message: 'database unavailable' });
    expect(users.calls).toBe(3);
  });

  it('does not retry other errors', async () => {
    const users = new FakeUsers('one');
    const transport = await connect(users.routes, createMetrics({ defaultMetrics: false }));
    for (const code of ['not_found', 'internal', 'failed_precondition', 'resource_exhausted'] as const) {
      users.calls = 0;
      users.behaviour = async () => {
        throw new AppError(code, 'no');
      };
      expect((await failure(getUser(transport))).code).toBe(code);
      expect(users.calls).toBe(1);
    }
  });

  it('honours the deadline of a call', async () => {
    const users = new FakeUsers('one');
    const transport = await connect(users.routes, createMetrics({ defaultMetrics: false }), {
      timeoutMs: 150,
    });
    users.behaviour = slow(5_000);
    const started = Date.now();
    const err = await failure(getUser(transport));
    expect(err.code).toBe('deadline_exceeded');
    expect(Date.now() - started).toBeLessThan(2_000);

    // A per-call timeout overrides the default.
    const again = await failure(getUser(transport, 'ada', { timeoutMs: 50 }));
    expect(again.code).toBe('deadline_exceeded');
    users.behaviour = slow(10);
    expect((await getUser(transport, 'ada', { timeoutMs: 2_000 })).user?.id).toBe('one');
  });

  it('passes the caller’s request id to the handler', async () => {
    const users = new FakeUsers('one');
    const transport = await connect(users.routes, createMetrics({ defaultMetrics: false }));
    await runWithContext({ requestId: 'req_x' }, () => getUser(transport));
    await getUser(transport);
    expect(users.requestIds[0]).toBe('req_x');
    // Without a context the server starts one of its own.
    expect(users.requestIds[1]).toMatch(/^req_[0-9A-Z]{26}$/);
  });
});

describe('round-robin over several servers', () => {
  it('spreads calls, and keeps answering on the other server when one stops', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = new FakeUsers('a');
    const b = new FakeUsers('b');
    const serverA = await serve(a.routes, metrics);
    const serverB = await serve(b.routes, metrics);
    const transport = network(`http://127.0.0.1:${serverA.port}, http://127.0.0.1:${serverB.port}`, metrics);

    const answeredBy: string[] = [];
    for (let n = 0; n < 10; n++) answeredBy.push((await getUser(transport)).user?.id ?? '');
    expect([a.calls, b.calls]).toEqual([5, 5]);
    // Strict alternation, not just an even total.
    expect(new Set(answeredBy.slice(0, 2))).toEqual(new Set(['a', 'b']));
    for (let n = 2; n < 10; n++) expect(answeredBy[n]).toBe(answeredBy[n - 2]);

    await serverB.close();
    for (let n = 0; n < 10; n++) expect((await getUser(transport)).user?.id).toBe('a');
    expect(a.calls).toBe(15);
    expect(b.calls).toBe(5);
  });

  it('fails unavailable when no server answers', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const gone = await serve(new FakeUsers('gone').routes, metrics);
    await gone.close();
    const transport = network(`http://127.0.0.1:${gone.port}`, metrics);
    expect((await failure(getUser(transport))).code).toBe('unavailable');
  });
});

describe('server shutdown', () => {
  it('lets an in-flight call finish, and cuts a never-ending Health.Watch after the grace period', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const users = new FakeUsers('one');
    const server = await startRpcServer({
      routes: (router) => {
        users.routes(router);
        registerHealth(router, { users: async () => {} });
      },
      interceptors: serverInterceptors({ service: 'users', logger, metrics }),
      host: '127.0.0.1',
      port: 0,
      shutdownGraceMs: 300,
    });
    const transport = network(`http://127.0.0.1:${server.port}`, metrics);

    const statuses: Status[] = [];
    let watchEnded: unknown;
    const watching = (async () => {
      try {
        for await (const res of createClient(Health, transport).watch(
          { service: 'users' },
          { timeoutMs: 0 },
        )) {
          statuses.push(res.status);
        }
      } catch (err) {
        watchEnded = err;
      }
    })();
    await eventually(async () => expect(statuses).toEqual([Status.SERVING]));

    users.behaviour = slow(150);
    const inFlight = getUser(transport);
    await eventually(async () => expect(users.calls).toBe(1));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await inFlight).user?.id).toBe('one');
    await watching;
    expect(watchEnded).toBeDefined();
  });
});

describe('health', () => {
  function healthRoutes(users: FakeUsers, checks: Record<string, ReadyCheck>): Routes {
    return (router) => {
      users.routes(router);
      registerHealth(router, checks);
    };
  }

  it.each(transports)('answers grpc.health.v1 Check over the %s transport', async (_name, connect) => {
    let usersDown: Error | undefined;
    const checks: Record<string, ReadyCheck> = {
      users: async () => {
        if (usersDown) throw usersDown;
      },
      cache: async () => {},
    };
    const transport = await connect(
      healthRoutes(new FakeUsers('one'), checks),
      createMetrics({ defaultMetrics: false }),
    );
    const health = createClient(Health, transport);

    expect((await health.check({ service: '' })).status).toBe(Status.SERVING);
    expect((await health.check({ service: 'users' })).status).toBe(Status.SERVING);

    usersDown = new AppError('unavailable', 'database unavailable');
    expect((await health.check({ service: 'users' })).status).toBe(Status.NOT_SERVING);
    expect((await health.check({ service: '' })).status).toBe(Status.NOT_SERVING);
    expect((await health.check({ service: 'cache' })).status).toBe(Status.SERVING);

    usersDown = undefined;
    expect((await health.check({ service: '' })).status).toBe(Status.SERVING);

    const unknown = await failure(health.check({ service: 'billing' }));
    expect(unknown).toMatchObject({ code: 'not_found', message: 'unknown service "billing"' });
  });

  it('serves /healthz, /readyz and /metrics on the ops server', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let failing: string | undefined;
    const checks: Record<string, ReadyCheck> = {
      users: async () => {
        if (failing) throw new Error(failing);
      },
    };
    const ops = await startOpsServer({ host: '127.0.0.1', port: 0, metrics, checks });
    cleanups.push(() => ops.close());
    const base = `http://127.0.0.1:${ops.port}`;

    const healthz = await fetch(`${base}/healthz`);
    expect(healthz.status).toBe(200);
    expect(await healthz.json()).toEqual({ status: 'ok' });

    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });

    failing = 'database unavailable';
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      status: 'not ready',
      failures: { users: 'database unavailable' },
    });
    // Readiness does not change liveness.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const before = await (await fetch(`${base}/metrics`)).text();
    expect(before).not.toMatch(/^wavecast_rpc_server_duration_seconds_count\{/m);
    const transport = await transports[1]![1](new FakeUsers('one').routes, metrics);
    await getUser(transport);
    const after = await fetch(`${base}/metrics`);
    expect(after.status).toBe(200);
    expect(after.headers.get('content-type')).toContain('text/plain');
    expect(await after.text()).toMatch(
      /^wavecast_rpc_server_duration_seconds_count\{service="users",procedure="wavecast\.users\.v1\.UsersService\/GetUser",code="ok"\} 1$/m,
    );

    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
