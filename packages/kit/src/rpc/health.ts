import type { ConnectRouter } from '@connectrpc/connect';
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from '@wavecast/contracts/gen/grpc/health/v1/health_pb.js';
import { AppError } from '../errors.ts';

/** A readiness probe: resolves when the service and its dependencies answer. */
export type ReadyCheck = () => Promise<void>;

async function status(check: ReadyCheck): Promise<Status> {
  try {
    await check();
    return Status.SERVING;
  } catch {
    return Status.NOT_SERVING;
  }
}

/**
 * Registers `grpc.health.v1.Health` for the named services. The empty service
 * name is the whole server: serving only when every service is.
 */
export function registerHealth(router: ConnectRouter, checks: Record<string, ReadyCheck>): void {
  const all: ReadyCheck = async () => {
    await Promise.all(Object.values(checks).map((c) => c()));
  };
  const find = (service: string): ReadyCheck | undefined => (service === '' ? all : checks[service]);
  router.service(Health, {
    async check(req) {
      const check = find(req.service);
      if (!check) throw new AppError('not_found', `unknown service "${req.service}"`);
      return { status: await status(check) };
    },
    async *watch(req, ctx) {
      const check = find(req.service);
      let last: Status | undefined;
      while (!ctx.signal.aborted) {
        const now = check ? await status(check) : Status.SERVICE_UNKNOWN;
        if (now !== last) {
          last = now;
          yield { status: now };
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    },
  });
}
