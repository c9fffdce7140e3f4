import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { acceptRequestId, REQUEST_ID_HEADER, runWithContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { toConnectError } from './codes.ts';

export type Routes = (router: ConnectRouter) => void;

/**
 * Interceptors every RPC server runs, in-process or over the network: the
 * request context (request id from the caller), RED metrics, a log line per
 * failure, and the AppError -> gRPC status mapping.
 */
export function serverInterceptors(opts: {
  service: string;
  logger: Logger;
  metrics: Metrics;
}): Interceptor[] {
  const { service, logger, metrics } = opts;
  return [
    (next) => async (req) => {
      const requestId = acceptRequestId(req.header.get(REQUEST_ID_HEADER));
      return runWithContext({ requestId }, async () => {
        const procedure = `${req.service.typeName}/${req.method.name}`;
        const end = metrics.rpcServerDuration.startTimer({ service, procedure });
        try {
          const res = await next(req);
          end({ code: 'ok' });
          return res;
        } catch (err) {
          const ce = toConnectError(err);
          end({ code: Code[ce.code] ?? String(ce.code) });
          if (ce.code === Code.Internal || ce.code === Code.Unknown) {
            logger.error({ err, procedure }, 'rpc failed');
          } else if (ce.code === Code.Unavailable) {
            logger.warn({ err: err instanceof AppError ? err.cause : err, procedure }, 'rpc unavailable');
          }
          throw ce;
        }
      });
    },
  ];
}

export interface RpcServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves gRPC (and Connect) over cleartext HTTP/2 on `host:port`. */
export async function startRpcServer(opts: {
  routes: Routes;
  interceptors: Interceptor[];
  host: string;
  port: number;
  /** How long `close()` lets in-flight streams finish before cutting them (default 5 000 ms). */
  shutdownGraceMs?: number;
}): Promise<RpcServer> {
  const handler = connectNodeAdapter({ routes: opts.routes, interceptors: opts.interceptors });
  const server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        // Some streams never finish by themselves (Health.Watch): cut them after a grace period.
        const force = setTimeout(() => {
          for (const session of sessions) session.destroy();
        }, opts.shutdownGraceMs ?? 5_000);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        // Ask clients to go away; in-flight streams finish, idle sessions close now.
        for (const session of sessions) session.close();
      }),
  };
}

export { ConnectError };
