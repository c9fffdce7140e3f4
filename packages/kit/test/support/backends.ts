/**
 * The two backends a service's tests run on: the embedded adapters (PGlite in
 * memory, the in-memory cache) and the real ones (a fresh PostgreSQL database,
 * Redis under a key prefix of the test's own), each cleaned up afterwards.
 */
import { type Cache, openCache } from '../../src/cache.ts';
import { type Database, openDatabase } from '../../src/db.ts';
import { deleteRedisKeys, REDIS_URL, uniquePrefix } from './cache.ts';
import { createTestDatabase } from './db.ts';

export interface Backend {
  name: string;
  open(): Promise<{ db: Database; cache: Cache; cleanup(): Promise<void> }>;
}

/** `service` names the Redis key prefix, so concurrent suites never share keys. */
export function serviceBackends(service: string): Backend[] {
  return [
    {
      name: 'PGlite + memory cache',
      async open() {
        const db = await openDatabase('pglite:memory');
        const cache = await openCache('memory:');
        return { db, cache, cleanup: async () => {} };
      },
    },
    {
      name: 'PostgreSQL + Redis',
      async open() {
        const testDb = await createTestDatabase();
        const prefix = uniquePrefix(service);
        const db = await openDatabase(testDb.url);
        const cache = await openCache(REDIS_URL, { prefix });
        return {
          db,
          cache,
          async cleanup() {
            await deleteRedisKeys(prefix);
            await testDb.drop();
          },
        };
      },
    },
  ];
}
