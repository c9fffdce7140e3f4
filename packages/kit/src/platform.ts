/**
 * The adapters a process runs on, chosen by URL: embedded defaults for
 * `npm start`, real servers in production. One place opens them (with a
 * readable failure) and closes them.
 */
import path from 'node:path';
import { type Bus, openBus } from './bus.ts';
import { type Cache, openCache } from './cache.ts';
import { env } from './config.ts';
import { type Database, openDatabase } from './db.ts';
import type { Logger } from './log.ts';
import { openStorage, type Storage } from './storage.ts';

export interface Platform {
  db: Database;
  cache: Cache;
  bus: Bus;
  storage: Storage;
}

/** Environment variables selecting the adapters. Defaults are the embedded ones. */
export function platformSpec(dataDir: string) {
  return {
    databaseUrl: env.str('DATABASE_URL', { default: `pglite:${path.join(dataDir, 'pglite')}`, secret: true }),
    cacheUrl: env.str('CACHE_URL', { default: 'memory:', secret: true }),
    cachePrefix: env.str('CACHE_PREFIX', { default: 'wavecast:' }),
    busUrl: env.str('BUS_URL', { default: 'memory:', secret: true }),
    busPrefix: env.str('BUS_PREFIX', { default: '' }),
    storageUrl: env.str('STORAGE_URL', { default: `file:${path.join(dataDir, 'storage')}`, secret: true }),
  };
}

export interface PlatformUrls {
  databaseUrl: string;
  cacheUrl: string;
  cachePrefix: string;
  busUrl: string;
  busPrefix: string;
  storageUrl: string;
}

/** Opens every adapter; on failure closes those already open and rethrows. */
export async function openPlatform(urls: PlatformUrls, logger: Logger): Promise<Platform> {
  const opened: { close(): Promise<void> }[] = [];
  const track = <T extends { close(): Promise<void> }>(x: T): T => {
    opened.push(x);
    return x;
  };
  try {
    const db = track(await openDatabase(urls.databaseUrl, { logger }));
    const cache = track(await openCache(urls.cacheUrl, { prefix: urls.cachePrefix, logger }));
    const bus = track(await openBus(urls.busUrl, { prefix: urls.busPrefix, logger }));
    const storage = track(await openStorage(urls.storageUrl, { logger }));
    return { db, cache, bus, storage };
  } catch (err) {
    await Promise.allSettled(opened.reverse().map((x) => x.close()));
    throw err;
  }
}

export async function closePlatform(platform: Platform): Promise<void> {
  // Bus first so no handler starts against a closing database.
  await platform.bus.close();
  await Promise.allSettled([platform.cache.close(), platform.storage.close()]);
  await platform.db.close();
}
