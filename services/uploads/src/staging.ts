/**
 * Where tus keeps uploads until they are complete, on the storage port's own
 * backend: a `@tus/file-store` directory inside the local storage root
 * (`uploads/.tus/`, hidden from the port: its keys never start with a dot),
 * or `@tus/s3-store` multipart uploads in the bucket under the same prefix.
 * Both keep their state in storage, so an upload resumes after a restart.
 * A complete upload is promoted to its source key and then discarded; until
 * it is discarded it can be judged and promoted again (a retry after a
 * failure part-way).
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileStore } from '@tus/file-store';
import { type MetadataValue, S3Store } from '@tus/s3-store';
import { type DataStore, MemoryKvStore } from '@tus/server';
import type { Storage } from '@wavecast/kit/storage';
import { S3Objects } from './s3-objects.ts';
import type { StorageTarget } from './storage-target.ts';

export const STAGING_PREFIX = 'uploads/.tus';

export interface Staging {
  readonly datastore: DataStore;
  /** The datastore id of the upload whose URL ends in `publicId`. */
  storeId(publicId: string): string;
  /** What ffprobe reads for a complete upload: its file or a short-lived URL. */
  probeInput(storeId: string): Promise<string>;
  /** Puts the complete upload at `key` in the storage port, atomically. The staged upload stays. */
  promote(storeId: string, key: string, size: number): Promise<void>;
  /** Removes the staged upload; idempotent. */
  discard(storeId: string): Promise<void>;
  /** Removes unfinished uploads past their expiry; how many. */
  sweep(): Promise<number>;
  /** Presigned URLs and copies, when storage is S3. */
  readonly s3: S3Objects | undefined;
  close(): void;
}

export interface StagingOptions {
  /** Unfinished uploads expire this long after they began; 0 keeps them. */
  expireMs: number;
  presignSeconds: number;
}

export async function openStaging(
  target: StorageTarget,
  storage: Storage,
  opts: StagingOptions,
): Promise<Staging> {
  const staging =
    target.kind === 'local' ? await localStaging(target.root, storage, opts) : s3Staging(target, opts);
  // Sizes are known up front (the limit is checked at creation): do not advertise otherwise.
  const { datastore } = staging;
  datastore.extensions = datastore.extensions.filter((e) => e !== 'creation-defer-length');
  return staging;
}

async function localStaging(root: string, storage: Storage, opts: StagingOptions): Promise<Staging> {
  const directory = join(root, STAGING_PREFIX);
  // FileStore creates it too, but in its constructor, where a failure cannot be caught.
  await mkdir(directory, { recursive: true });
  const datastore = new FileStore({ directory, expirationPeriodInMilliseconds: opts.expireMs });
  const pathOf = (id: string) => join(directory, id);
  return {
    datastore,
    s3: undefined,
    storeId: (publicId) => publicId,
    probeInput: async (id) => pathOf(id),
    async promote(id, key) {
      await storage.head(key); // the port's key rules, before any path is built from the key
      const staged = await open(pathOf(id), 'r');
      try {
        await staged.sync(); // tus wrote it without flushing
      } finally {
        await staged.close();
      }
      // A hard link then a rename: the same bytes, no copy, and the object
      // appears whole; the staged name stays for a retry until discard().
      const target = join(root, key);
      await mkdir(dirname(target), { recursive: true });
      const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
      await link(pathOf(id), tmp);
      await rename(tmp, target).catch(async (err: unknown) => {
        await rm(tmp, { force: true });
        throw err;
      });
    },
    sweep: () => datastore.deleteExpired(),
    async discard(id) {
      await rm(pathOf(id), { force: true });
      await rm(`${pathOf(id)}.json`, { force: true });
    },
    close() {},
  };
}

function s3Staging(target: StorageTarget & { kind: 's3' }, opts: StagingOptions): Staging {
  const cache = new MemoryKvStore<MetadataValue>();
  const datastore = new S3Store({
    s3ClientConfig: { ...target.client, bucket: target.bucket },
    cache,
    expirationPeriodInMilliseconds: opts.expireMs,
    // Expiry by listing multipart uploads; tags would need a bucket lifecycle rule.
    useTags: false,
  });
  const s3 = new S3Objects(target.client, target.bucket);
  return {
    datastore,
    s3,
    storeId: (publicId) => `${STAGING_PREFIX}/${publicId}`,
    probeInput: (id) => s3.presignGet(id, opts.presignSeconds),
    promote: (id, key, size) => s3.copy(id, key, size),
    // S3Store's sweep lists every multipart upload of the bucket, the storage
    // port's too: a lifecycle rule on uploads/.tus/ is the safer broom.
    sweep: async () => 0,
    async discard(id) {
      // The object, its tus info and any leftover part shorter than S3's minimum.
      await s3.delete([id, `${id}.info`, `${id}.part`]);
      await cache.delete(id);
    },
    close() {
      s3.close();
    },
  };
}
