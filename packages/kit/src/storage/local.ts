/**
 * The local-directory storage adapter (`file:<dir>`): one file per key.
 * Writes go to a hidden temporary file in the target directory and are
 * renamed into place, so readers see the old object or the whole new one
 * (rename within a directory is atomic on POSIX file systems).
 */
import { randomBytes } from 'node:crypto';
import { type Dirent, constants as fsConstants } from 'node:fs';
import {
  access,
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../errors.ts';
import type { ObjectInfo, Storage } from '../storage.ts';
import { fsError, hasCode, isMissing } from './fs-errors.ts';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  byKey,
  contentTypeFor,
  isSourceError,
  unsatisfiableRange,
} from './rules.ts';

/** Opens (creating if needed) a directory as storage; `dir` may be relative to the working directory. */
export async function openLocalStorage(dir: string): Promise<Storage> {
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw fsError(err, dir);
  });
  // The real path, so the containment check below compares like with like.
  return new LocalStorage(await realpath(dir));
}

class LocalStorage implements Storage {
  readonly kind = 'local' as const;
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  async put(key: string, body: Buffer | Uint8Array | string | Readable, opts?: { contentType?: string }) {
    const path = this.#path(key);
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeSynced(tmp, body);
      // The bytes are atomic; the content type (rarely non-default) is set
      // just before them, so a head() in between may pair it with old bytes.
      await this.#writeContentType(key, path, opts?.contentType);
      await rename(tmp, path);
    } catch (err) {
      await removeFile(tmp).catch(() => {}); // the original error matters more
      throw isSourceError(body, err) ? err : fsError(err, key, 'write');
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const path = this.#path(key);
    assertValidRange(range);
    let file: FileHandle;
    try {
      // Opening pins the current inode: a concurrent put renames a new file
      // over the name, and this reader keeps the old one, whole.
      file = await open(path, 'r');
    } catch (err) {
      throw fsError(err, key);
    }
    try {
      const info = await file.stat();
      if (!info.isFile()) throw new AppError('not_found', `no storage object ${JSON.stringify(key)}`);
      if (range && range.start >= info.size) throw unsatisfiableRange(key);
    } catch (err) {
      await file.close();
      throw fsError(err, key);
    }
    // The stream closes the file when it ends or is destroyed.
    return file.createReadStream({ start: range?.start, end: range?.end });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const path = this.#path(key);
    const info = await stat(path).catch((err: unknown) => {
      if (isMissing(err)) return null;
      throw fsError(err, key);
    });
    if (!info?.isFile()) return null;
    const custom = await readFile(sidecarPath(path), 'utf8').catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw fsError(err, key);
    });
    return { key, size: info.size, contentType: custom ?? contentTypeFor(key), modifiedAt: info.mtime };
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    await this.#remove(key);
    await this.#pruneEmptyDirs(dirname(path));
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    if (prefix === '') throw new AppError('invalid_argument', 'refusing to delete every storage object');
    const objects = await this.list(prefix);
    let deleted = 0;
    for (const { key } of objects) {
      if (await this.#remove(key)) deleted++;
    }
    // A whole subtree also takes leftovers (temporary files of crashed
    // writers, or of writers racing this delete: their put then fails);
    // a partial segment (`a/b` matching `a/bc`) only its objects.
    const subtree = prefix.slice(0, -1);
    if (prefix.endsWith('/') && (await isRealDir(this.#root, subtree))) {
      await rm(join(this.#root, subtree), { recursive: true, force: true });
    }
    const dirs = new Set(objects.map(({ key }) => dirname(join(this.#root, key))));
    dirs.add(join(this.#root, prefix.endsWith('/') ? subtree : dirname(prefix)));
    for (const dir of [...dirs].sort().reverse()) await this.#pruneEmptyDirs(dir);
    return deleted;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    // Only the directory holding the prefix's last segment can contain matches.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    if (!(await isRealDir(this.#root, base))) return [];
    const found: ObjectInfo[] = [];
    for await (const key of walk(this.#root, base, prefix)) {
      const info = await stat(join(this.#root, key)).catch(() => null); // deleted meanwhile
      if (info?.isFile()) found.push({ key, size: info.size, modifiedAt: info.mtime });
    }
    return found.sort(byKey);
  }

  async ping(): Promise<void> {
    await access(this.#root, fsConstants.W_OK).catch((err: unknown) => {
      throw new AppError('unavailable', 'storage directory is not writable', { cause: err });
    });
  }

  async close(): Promise<void> {}

  /** The absolute path of a key, guaranteed to lie inside the root. */
  #path(key: string): string {
    assertValidKey(key);
    const path = resolve(this.#root, key);
    // Validation already rules out `..`; this is the second lock on the door.
    if (!path.startsWith(this.#root + sep)) {
      throw new AppError('invalid_argument', `storage key ${JSON.stringify(key)} escapes the root`);
    }
    return path;
  }

  /** Records a content type only when the extension would not imply it, so most objects are one file. */
  async #writeContentType(key: string, path: string, contentType: string | undefined): Promise<void> {
    const sidecar = sidecarPath(path);
    if (contentType === undefined || contentType === contentTypeFor(key)) {
      await removeFile(sidecar);
      return;
    }
    const tmp = `${sidecar}.${randomBytes(6).toString('hex')}.tmp`;
    await writeSynced(tmp, contentType);
    await rename(tmp, sidecar);
  }

  /** Removes an object and its metadata; true when the object existed. */
  async #remove(key: string): Promise<boolean> {
    const path = this.#path(key);
    await removeFile(sidecarPath(path));
    try {
      await unlink(path);
      return true;
    } catch (err) {
      // EISDIR/EPERM: the key names a directory of other keys, not an object.
      if (isMissing(err) || hasCode(err, 'EISDIR', 'EPERM')) return false;
      throw fsError(err, key);
    }
  }

  /** Removes now-empty directories from `dir` up to (not including) the root. */
  async #pruneEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; d.startsWith(this.#root + sep); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch (err) {
        if (!isMissing(err)) return; // ENOTEMPTY: something still lives here
      }
    }
  }
}

/** Writes a file and flushes it to disk, creating its directory; fails if it exists. */
async function writeSynced(path: string, body: Buffer | Uint8Array | string | Readable): Promise<void> {
  let file: FileHandle | undefined;
  // The directory usually exists (a recording writes a segment a second into one): open first,
  // create it only when missing. A concurrent delete may prune it in between; retry.
  for (let attempt = 0; !file; attempt++) {
    if (attempt > 0) await mkdir(dirname(path), { recursive: true });
    file = await open(path, 'wx').catch((err: unknown) => {
      if (isMissing(err) && attempt < 4) return undefined;
      throw err;
    });
  }
  try {
    await file.writeFile(body);
    await file.sync();
  } finally {
    await file.close();
  }
}

/**
 * Keys starting with `prefix` of regular files under the directory `dir` (a
 * key-shaped path, `''` for the root), unordered. Dirent types come from
 * lstat, so symbolic links are never followed: they cannot lead outside.
 */
async function* walk(root: string, dir: string, prefix: string): AsyncGenerator<string> {
  let entries: Dirent[];
  try {
    entries = await readdir(join(root, dir), { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return;
    throw fsError(err, dir);
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue; // temporary files and sidecars
    const key = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isFile() && key.startsWith(prefix)) yield key;
    // Descend only where matches can be: `a/b` holds matches of `a/b/` and of `a/b`.
    else if (entry.isDirectory() && (key.startsWith(prefix) || prefix.startsWith(`${key}/`))) {
      yield* walk(root, key, prefix);
    }
  }
}

/** True when every segment of `dir` (a key-shaped path) is a directory, not a link to one. */
async function isRealDir(root: string, dir: string): Promise<boolean> {
  let path = root;
  for (const segment of dir === '' ? [] : dir.split('/')) {
    path = join(path, segment);
    const info = await lstat(path).catch(() => null);
    if (!info?.isDirectory()) return false;
  }
  return true;
}

/** Unlinks a file if present. */
async function removeFile(path: string): Promise<void> {
  await unlink(path).catch((err: unknown) => {
    if (!isMissing(err)) throw err;
  });
}

function sidecarPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.type`);
}
