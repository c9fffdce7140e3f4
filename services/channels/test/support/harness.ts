/**
 * Test harness for the channels service: the real service on a chosen
 * backend (PGlite + memory adapters, or PostgreSQL + Redis), a ConnectRPC
 * client through the same interceptors as production, a movable clock, and
 * the stream.* events it published.
 */
import { randomBytes } from 'node:crypto';
import { type Client, createClient } from '@connectrpc/connect';
import { eventSchemas } from '@wavecast/contracts/events';
import { ChannelsService } from '@wavecast/contracts/gen/wavecast/channels/v1/channels_pb.js';
import { type Bus, type Envelope, openBus } from '@wavecast/kit/bus';
import type { Cache } from '@wavecast/kit/cache';
import type { Database } from '@wavecast/kit/db';
import { typedEvents } from '@wavecast/kit/events';
import { newId } from '@wavecast/kit/ids';
import { createLogger } from '@wavecast/kit/log';
import { createMetrics } from '@wavecast/kit/metrics';
import { inProcessTransport, serverInterceptors } from '@wavecast/kit/rpc';
import { type Backend, serviceBackends } from '../../../../packages/kit/test/support/backends.ts';
import { type ChannelsInstance, createChannels, migrateChannels } from '../../src/index.ts';

export type { Backend } from '../../../../packages/kit/test/support/backends.ts';

export const backends: Backend[] = serviceBackends('channels');

export type StreamEvent = Envelope & { type: 'stream.started.v1' | 'stream.ended.v1' | 'stream.kick.v1' };

export interface Harness {
  client: Client<typeof ChannelsService>;
  instance: ChannelsInstance;
  db: Database;
  cache: Cache;
  bus: Bus;
  secret: Buffer;
  /** Moves the service's clock forward. */
  advance(ms: number): void;
  events: StreamEvent[];
  eventsOf(type: StreamEvent['type']): any[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  liveEntryTtlSeconds?: number;
  reconnectGraceSeconds?: number;
  /** Receives every log line of the service (at trace level) instead of silence. */
  logLines?: string[];
}

export async function openHarness(backend: Backend, opts: HarnessOptions = {}): Promise<Harness> {
  const { db, cache, cleanup } = await backend.open();
  const bus = await openBus('memory:');
  const lines = opts.logLines;
  const logger = lines
    ? createLogger({
        service: 'channels',
        level: 'trace',
        destination: { write: (line) => void lines.push(line) },
      })
    : createLogger({ service: 'channels', level: 'silent' });
  const metrics = createMetrics({ defaultMetrics: false });
  let offset = 0;
  const secret = randomBytes(32);
  await migrateChannels(db);
  const instance = await createChannels({
    db,
    cache,
    bus,
    logger,
    config: {
      liveEntryTtlSeconds: opts.liveEntryTtlSeconds ?? 30,
      reconnectGraceSeconds: opts.reconnectGraceSeconds ?? 10,
    },
    streamKeySecret: secret,
    now: () => new Date(Date.now() + offset),
    sweepEveryMs: 0,
  });
  const events: StreamEvent[] = [];
  const record = async (_data: unknown, envelope: Envelope) => {
    events.push(envelope as StreamEvent);
  };
  const subscription = await typedEvents(bus, eventSchemas).subscribe('test.streams', {
    'stream.started.v1': record,
    'stream.ended.v1': record,
    'stream.kick.v1': record,
  });
  const transport = inProcessTransport(
    instance.routes,
    serverInterceptors({ service: 'channels', logger, metrics }),
    { caller: 'test', logger, metrics, retries: 0 },
  );
  return {
    client: createClient(ChannelsService, transport),
    instance,
    db,
    cache,
    bus,
    secret,
    advance(ms) {
      offset += ms;
    },
    events,
    eventsOf: (type) => events.filter((e) => e.type === type).map((e) => e.data),
    async close() {
      await subscription.close();
      await instance.stop();
      await bus.close();
      await cache.close();
      await db.close();
      await cleanup();
    },
  };
}

let counter = 0;
/** A user as the gateway would present it: a usr_ id and a username unique in the run. */
export function newOwner(prefix = 'Streamer'): { ownerId: string; username: string } {
  counter += 1;
  return { ownerId: newId('usr'), username: `${prefix}${Date.now().toString(36)}${counter}` };
}

/** A publish request from an ingest node, with a fresh connection id. */
export function publish(streamKey: string, node = 'ingest-a', connectionId = `conn-${++counter}`) {
  return { streamKey, ingestNode: node, clientAddr: '203.0.113.7', connectionId };
}
