/**
 * The operations endpoints every service process serves over HTTP/1.1:
 * `/healthz` (the process is alive), `/readyz` (its dependencies answer) and
 * `/metrics` (Prometheus). Kept apart from the gRPC port so that ordinary
 * HTTP probes and scrapers work.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.ts';
import type { ReadyCheck } from './rpc/health.ts';

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Runs every check; resolves to the names of the failing ones. */
export async function failingChecks(checks: Record<string, ReadyCheck>): Promise<Record<string, string>> {
  const failures: Record<string, string> = {};
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await check();
      } catch (err) {
        failures[name] = err instanceof Error ? err.message : String(err);
      }
    }),
  );
  return failures;
}

export async function startOpsServer(opts: {
  host: string;
  port: number;
  metrics: Metrics;
  checks: Record<string, ReadyCheck>;
}): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return send(200, { status: 'ok' });
    if (path === '/readyz') {
      failingChecks(opts.checks).then(
        (failures) =>
          Object.keys(failures).length === 0
            ? send(200, { status: 'ready' })
            : send(503, { status: 'not ready', failures }),
        () => send(503, { status: 'not ready' }),
      );
      return;
    }
    if (path === '/metrics') {
      opts.metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
          res.end(text);
        },
        () => send(500, { error: 'metrics unavailable' }),
      );
      return;
    }
    send(404, { error: { code: 'not_found', message: 'no such endpoint' } });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
