import { lookup } from 'node:dns/promises';
import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from '@bufbuild/protobuf';
import {
  type ContextValues,
  createRouterTransport,
  type Interceptor,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { currentRequestId, REQUEST_ID_HEADER } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { fromConnectError } from './codes.ts';
import type { Routes } from './server.ts';

export interface ClientOptions {
  /** The calling service, for metrics and logs. */
  caller: string;
  logger: Logger;
  metrics: Metrics;
  /** Deadline of a call unless the caller sets one (default 5 s). */
  timeoutMs?: number;
  /** Retries of a unary call that failed UNAVAILABLE (default 2). */
  retries?: number;
  /** First retry delay, doubled each time (default 50 ms). */
  backoffMs?: number;
}

interface Endpoint {
  readonly name: string;
  readonly transport: Transport;
  /** Not picked before this time after failing UNAVAILABLE. */
  failedUntil: number;
}

type HeaderInit = ConstructorParameters<typeof Headers>[0];

const EJECT_MS = 2_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client transport with deadlines, retries on UNAVAILABLE (to the next
 * healthy endpoint), round-robin balancing, request-id propagation, RED
 * metrics, and gRPC status -> AppError translation. Callers see AppError only.
 */
export class ResilientTransport implements Transport {
  readonly #endpoints: () => Endpoint[];
  readonly #opts: Required<Omit<ClientOptions, 'logger' | 'metrics' | 'caller'>> & ClientOptions;
  #next = 0;

  constructor(endpoints: () => Endpoint[], opts: ClientOptions) {
    this.#endpoints = endpoints;
    this.#opts = { timeoutMs: 5_000, retries: 2, backoffMs: 50, ...opts };
  }

  #pick(): Endpoint {
    const all = this.#endpoints();
    if (all.length === 0) throw new AppError('unavailable', 'no endpoint for this service is known');
    const now = Date.now();
    for (let i = 0; i < all.length; i++) {
      const ep = all[(this.#next + i) % all.length]!;
      if (ep.failedUntil <= now) {
        this.#next = (this.#next + i + 1) % all.length;
        return ep;
      }
    }
    // Every endpoint failed recently: try them anyway, in turn.
    this.#next = (this.#next + 1) % all.length;
    return all[this.#next % all.length]!;
  }

  #headers(header: HeaderInit | undefined): Headers {
    const headers = new Headers(header);
    const requestId = currentRequestId();
    if (requestId && !headers.has(REQUEST_ID_HEADER)) headers.set(REQUEST_ID_HEADER, requestId);
    return headers;
  }

  async unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeaderInit | undefined,
    input: MessageInitShape<I>,
    contextValues?: ContextValues,
  ): Promise<UnaryResponse<I, O>> {
    const deadline = Date.now() + (timeoutMs ?? this.#opts.timeoutMs);
    const headers = this.#headers(header);
    const procedure = `${method.parent.typeName}/${method.name}`;
    const end = this.#opts.metrics.rpcClientDuration.startTimer({ service: this.#opts.caller, procedure });
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        end({ code: 'deadline_exceeded' });
        throw new AppError('deadline_exceeded', `${procedure} did not answer in time`);
      }
      let ep: Endpoint | undefined;
      try {
        ep = this.#pick();
        const res = await ep.transport.unary(method, signal, remaining, headers, input, contextValues);
        end({ code: 'ok' });
        return res;
      } catch (raw) {
        const err = fromConnectError(raw);
        const delay = this.#opts.backoffMs * 2 ** attempt;
        if (ep && err.code === 'unavailable') ep.failedUntil = Date.now() + EJECT_MS;
        const retry =
          err.code === 'unavailable' &&
          attempt < this.#opts.retries &&
          !signal?.aborted &&
          Date.now() + delay < deadline;
        if (!retry) {
          end({ code: err.code });
          throw err;
        }
        this.#opts.logger.debug({ procedure, endpoint: ep?.name, attempt: attempt + 1 }, 'rpc retry');
        await sleep(delay);
      }
    }
  }

  async stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeaderInit | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
    contextValues?: ContextValues,
  ): Promise<StreamResponse<I, O>> {
    // Streams are not retried: part of the input may already be consumed.
    try {
      return await this.#pick().transport.stream(
        method,
        signal,
        timeoutMs,
        this.#headers(header),
        input,
        contextValues,
      );
    } catch (err) {
      throw fromConnectError(err);
    }
  }
}

/** A transport that calls handlers in this process (the all-in-one mode). */
export function inProcessTransport(
  routes: Routes,
  serverInterceptors: Interceptor[],
  opts: ClientOptions,
): Transport {
  const inner = createRouterTransport(routes, { router: { interceptors: serverInterceptors } });
  const endpoints = [{ name: 'in-process', transport: inner, failedUntil: 0 }];
  return new ResilientTransport(() => endpoints, opts);
}

/**
 * A transport over gRPC to one or more instances. `target` is a comma-separated
 * list of `http://host:port` URLs, or `dns:///host:port`, re-resolved every
 * 15 s so that instances added behind a headless service are used.
 */
export function networkTransport(target: string, opts: ClientOptions): Transport & { close(): void } {
  const cache = new Map<string, Endpoint>();
  const endpointFor = (baseUrl: string): Endpoint => {
    let ep = cache.get(baseUrl);
    if (!ep) {
      ep = {
        name: baseUrl,
        transport: createGrpcTransport({ baseUrl, idleConnectionTimeoutMs: 60_000 }),
        failedUntil: 0,
      };
      cache.set(baseUrl, ep);
    }
    return ep;
  };
  let current: Endpoint[] = [];
  let timer: NodeJS.Timeout | undefined;
  if (target.startsWith('dns:///')) {
    const url = new URL(`http://${target.slice('dns:///'.length)}`);
    const resolve = async () => {
      try {
        const addrs = await lookup(url.hostname, { all: true });
        current = addrs.map((a) =>
          endpointFor(`http://${a.family === 6 ? `[${a.address}]` : a.address}:${url.port}`),
        );
      } catch (err) {
        opts.logger.warn({ err, target }, 'rpc target did not resolve; keeping the last known endpoints');
      }
    };
    void resolve();
    timer = setInterval(() => void resolve(), 15_000);
    timer.unref();
  } else {
    current = target
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(endpointFor);
  }
  const transport = new ResilientTransport(() => current, opts);
  return Object.assign(transport, { close: () => clearInterval(timer) });
}
