/**
 * Composition root of the all-in-one process (`npm start`): every service in
 * one process on the embedded defaults (or whatever the env selects), RPC
 * routed in-process, the gateway on :8080.
 */
import path from 'node:path';
import { createClient } from '@connectrpc/connect';
import { authConfigSpec, createAuth, migrateAuth } from '@wavecast/auth';
import { catalogConfigSpec, createCatalog, migrateCatalog, playbackSecretPath } from '@wavecast/catalog';
import {
  channelsConfigSpec,
  createChannels,
  loadOrCreateSecretFile,
  migrateChannels,
  streamKeySecretPath,
} from '@wavecast/channels';
import { AuthService } from '@wavecast/contracts/gen/wavecast/auth/v1/auth_pb.js';
import { createEncoder, type EncoderConfig, encoderConfigSpec } from '@wavecast/encoder';
import { createGateway, gatewayConfigSpec, inProcessUploads } from '@wavecast/gateway';
import { createIngest, type Ingest, ingestConfigSpec } from '@wavecast/ingest';
import type { Bus } from '@wavecast/kit/bus';
import { ConfigError, type ConfigOf, env, loadConfig, type Spec } from '@wavecast/kit/config';
import { createLogger, type Logger } from '@wavecast/kit/log';
import { createMetrics } from '@wavecast/kit/metrics';
import { closePlatform, openPlatform, platformSpec } from '@wavecast/kit/platform';
import { inProcessTransport, type Routes, serverInterceptors } from '@wavecast/kit/rpc';
import type { ServiceInstance } from '@wavecast/kit/service';
import type { Storage } from '@wavecast/kit/storage';
import { TokenVerifier } from '@wavecast/kit/tokens';
import { createUploads, uploadsConfigSpec } from '@wavecast/uploads';
import { createUsers, migrateUsers } from '@wavecast/users';
import { usersConfigSpec } from '@wavecast/users/config';
import type { JSONWebKeySet } from 'jose';

/** The specs merged into the all-in-one configuration; a key may appear twice only for one variable. */
export function allInOneParts(dataDir: string): Record<string, Spec> {
  return {
    platform: platformSpec(dataDir),
    gateway: gatewayConfigSpec,
    auth: authConfigSpec,
    users: usersConfigSpec,
    channels: channelsConfigSpec,
    catalog: catalogConfigSpec,
    ingest: ingestConfigSpec,
    uploads: uploadsConfigSpec,
  };
}

export function allInOneSpec(source: NodeJS.ProcessEnv) {
  const dataDir = path.resolve(source.WAVECAST_DATA_DIR ?? './data');
  return {
    dataDir: env.str('WAVECAST_DATA_DIR', { default: dataDir }),
    /** Run an encoder worker in this process (off when separate `wavecast start encoder` workers do it). */
    encoderInProcess: env.bool('ENCODER_IN_PROCESS', { default: true }),
    logLevel: env.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
      default: 'info',
    }),
    ...platformSpec(dataDir),
    ...gatewayConfigSpec,
    ...authConfigSpec,
    ...usersConfigSpec,
    ...channelsConfigSpec,
    ...catalogConfigSpec,
    ...uploadsConfigSpec,
    ...ingestConfigSpec,
  };
}

/** The flat settings of every service, plus the encoder's apart (its LADDER is not the live one). */
export type AllInOneConfig = ConfigOf<ReturnType<typeof allInOneSpec>> & { encoder: EncoderConfig };

export interface AllInOne {
  url: string;
  port: number;
  rtmpPort: number;
  logger: Logger;
  /** The platform's bus and storage, for tests that play another service's part (e.g. the encoder). */
  bus: Bus;
  storage: Storage;
  close(): Promise<void>;
}

export function loadAllInOneConfig(source: NodeJS.ProcessEnv = process.env): AllInOneConfig {
  // Both parsed before failing, so every bad variable is reported at once.
  const problems: string[] = [];
  const parse = <S extends Spec>(spec: S): ConfigOf<S> | undefined => {
    try {
      return loadConfig(spec, source);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const flat = parse(allInOneSpec(source));
  const encoder = parse(encoderConfigSpec);
  if (!flat || !encoder) throw new ConfigError(problems);
  return { ...flat, encoder };
}

export async function startAllInOne(config: AllInOneConfig, logger?: Logger): Promise<AllInOne> {
  const log = logger ?? createLogger({ service: 'wavecast', level: config.logLevel });
  const metrics = createMetrics();
  const platform = await openPlatform(config, log);
  const instances: ServiceInstance[] = [];
  let ingest: Ingest | undefined;
  const stoppers: (() => Promise<void>)[] = [];
  try {
    await migrateUsers(platform.db);
    await migrateAuth(platform.db);
    await migrateChannels(platform.db);
    await migrateCatalog(platform.db);
    // Embedded, the secrets may be left unset: generated ones are kept next to the data.
    const streamKeySecret =
      config.streamKeySecret ?? (await loadOrCreateSecretFile(streamKeySecretPath(config.dataDir)));
    const playbackSecret =
      config.playbackSecret ?? (await loadOrCreateSecretFile(playbackSecretPath(config.dataDir)));
    const transport = (caller: string, service: ServiceInstance | { name: string; routes: Routes }) =>
      inProcessTransport(
        service.routes,
        serverInterceptors({
          service: service.name,
          logger: createLogger({ service: service.name, level: config.logLevel }),
          metrics,
        }),
        { caller, logger: createLogger({ service: caller, level: config.logLevel }), metrics },
      );
    const users = createUsers({
      db: platform.db,
      bus: platform.bus,
      logger: createLogger({ service: 'users', level: config.logLevel }),
      adminUsername: config.adminUsername,
    });
    instances.push(users);
    const auth = await createAuth({
      db: platform.db,
      cache: platform.cache,
      bus: platform.bus,
      logger: createLogger({ service: 'auth', level: config.logLevel }),
      users: transport('auth', users),
      config,
    });
    instances.push(auth);
    const channels = await createChannels({
      db: platform.db,
      cache: platform.cache,
      bus: platform.bus,
      logger: createLogger({ service: 'channels', level: config.logLevel }),
      config,
      streamKeySecret,
    });
    instances.push(channels);
    const catalog = await createCatalog({
      db: platform.db,
      cache: platform.cache,
      bus: platform.bus,
      logger: createLogger({ service: 'catalog', level: config.logLevel }),
      config,
      playbackSecret,
    });
    instances.push(catalog);
    ingest = await createIngest({
      config,
      channels: transport('ingest', channels),
      storage: platform.storage,
      bus: platform.bus,
      logger: createLogger({ service: 'ingest', level: config.logLevel }),
    });
    const authClient = createClient(AuthService, transport('uploads', auth));
    const uploads = await createUploads({
      config,
      storage: platform.storage,
      storageUrl: config.storageUrl,
      bus: platform.bus,
      catalog: transport('uploads', catalog),
      verifier: new TokenVerifier({
        fetchJwks: async () => JSON.parse((await authClient.getJwks({})).jwksJson) as JSONWebKeySet,
        cache: platform.cache,
      }),
      logger: createLogger({ service: 'uploads', level: config.logLevel }),
    });
    stoppers.push(() => uploads.stop());
    const encoder = config.encoderInProcess
      ? await createEncoder({
          bus: platform.bus,
          storage: platform.storage,
          logger: createLogger({ service: 'encoder', level: config.logLevel }),
          metrics,
          config: config.encoder,
        })
      : undefined;
    if (encoder) stoppers.push(() => encoder.stop());
    const gateway = await createGateway({
      config: {
        ...config,
        // Left at its default, the RTMP URL names the port this process really listens on.
        ...(config.rtmpPublicUrl === 'rtmp://localhost:1935/live' && {
          rtmpPublicUrl: `rtmp://localhost:${ingest.rtmpPort}/live`,
        }),
        playbackSecret,
      },
      logger: createLogger({ service: 'gateway', level: config.logLevel }),
      metrics,
      cache: platform.cache,
      bus: platform.bus,
      users: transport('gateway', users),
      auth: transport('gateway', auth),
      channels: transport('gateway', channels),
      catalog: transport('gateway', catalog),
      storage: platform.storage,
      live: ingest.http,
      raw: [uploads],
      uploads: inProcessUploads(uploads),
      readiness: {
        uploads: uploads.ready,
        ...(encoder && { encoder: encoder.ready }),
        users: users.ready,
        auth: auth.ready,
        channels: channels.ready,
        catalog: catalog.ready,
        ingest: ingest.ready,
      },
    });
    const address = await gateway.app.listen({ host: config.httpHost, port: config.httpPort });
    const port = Number(new URL(address).port);
    const live = ingest;
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      rtmpPort: live.rtmpPort,
      logger: log,
      bus: platform.bus,
      storage: platform.storage,
      async close() {
        await live.stop();
        await gateway.close();
        for (const stop of stoppers.reverse()) await stop();
        for (const instance of instances.reverse()) await instance.stop();
        await closePlatform(platform);
      },
    };
  } catch (err) {
    await ingest?.stop().catch(() => undefined);
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
    for (const instance of instances.reverse()) await instance.stop().catch(() => undefined);
    await closePlatform(platform).catch(() => undefined);
    throw err;
  }
}

export { ConfigError };
