/**
 * Where the gateway gets live playback (`/live/{channel}/…`) from. In the
 * all-in-one process the ingest's handler runs in-process; distributed, the
 * request is proxied to the ingest node that holds the channel, found in the
 * live directory.
 */
import type { Client } from '@connectrpc/connect';
import type { ChannelsService } from '@wavecast/contracts/gen/wavecast/channels/v1/channels_pb.js';
import { AppError } from '@wavecast/kit/errors';

export interface LiveResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

export interface LiveViewer {
  address: string;
  userAgent: string;
}

export interface LiveBackend {
  handle(
    method: string,
    url: string,
    viewer: LiveViewer,
    signal?: AbortSignal,
  ): Promise<LiveResponse | undefined>;
}

const CHANNEL = /^\/live\/([A-Za-z0-9_-]{1,64})\//;
const NODE_TTL_MS = 2_000;
/** Longer than the origin holds a blocking playlist request (3 target durations). */
const UPSTREAM_TIMEOUT_MS = 15_000;
const PASSED_HEADERS = [
  'content-type',
  'cache-control',
  'retry-after',
  'access-control-allow-origin',
  'content-length',
];

/** Proxies to the ingest node serving each channel, as the channels service reports it. */
export function proxyLiveBackend(channels: Client<typeof ChannelsService>): LiveBackend {
  const nodes = new Map<string, { node: string; at: number }>();
  const nodeOf = async (name: string): Promise<string | undefined> => {
    const hit = nodes.get(name);
    if (hit && Date.now() - hit.at < NODE_TTL_MS) return hit.node;
    let node = '';
    try {
      node = (await channels.getChannel({ name })).channel?.live?.ingestNode ?? '';
    } catch (err) {
      if (!AppError.is(err, 'not_found')) throw err;
    }
    nodes.set(name, { node, at: Date.now() });
    if (nodes.size > 10_000) nodes.delete(nodes.keys().next().value!);
    return node || undefined;
  };
  return {
    async handle(method, url, viewer, signal) {
      const channel = CHANNEL.exec(url)?.[1];
      if (!channel) return undefined;
      const node = await nodeOf(channel);
      if (!node) throw new AppError('not_found', `channel "${channel}" is not live`);
      const timeout = AbortSignal.timeout(UPSTREAM_TIMEOUT_MS);
      let res: Response;
      try {
        res = await fetch(new URL(url, node), {
          method,
          headers: { 'x-forwarded-for': viewer.address, 'user-agent': viewer.userAgent },
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (err) {
        nodes.delete(channel);
        throw new AppError('unavailable', 'the ingest node of this channel does not answer', { cause: err });
      }
      const headers: Record<string, string> = {};
      for (const name of PASSED_HEADERS) {
        const value = res.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      return { status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) };
    },
  };
}
