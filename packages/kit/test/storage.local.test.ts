import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.ts';
import { openStorage, type Storage } from '../src/storage.ts';

const dirs: string[] = [];
let dir: string;
let root: string;
let storage: Storage;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wavecast-local-'));
  dirs.push(dir);
  root = join(dir, 'root');
  storage = await openStorage(`file:${root}`);
  return () => storage.close();
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function expectCode(promise: Promise<unknown>, code: AppError['code']): Promise<void> {
  await expect(promise).rejects.toSatisfy((err) => AppError.is(err, code));
}

/** Every file under `d`, hidden ones included, as relative paths. */
async function files(d: string): Promise<string[]> {
  const entries = await readdir(d, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(d, join(e.parentPath, e.name)));
}

describe('local storage adapter', () => {
  it('keeps keys inside the root', async () => {
    await writeFile(join(dir, 'secret.txt'), 'outside');
    for (const bad of ['../secret.txt', 'a/../../secret.txt', 'a/./../../secret.txt']) {
      await expectCode(storage.put(bad, 'pwned'), 'invalid_argument');
      await expectCode(storage.get(bad), 'invalid_argument');
      await expectCode(storage.delete(bad), 'invalid_argument');
    }
    await expectCode(storage.list('../'), 'invalid_argument');
    await expectCode(storage.deletePrefix('../'), 'invalid_argument');
    // Encoded dots are just characters in a file name, inside the root.
    await storage.put('%2e%2e/secret.txt', 'inside');
    expect(await readFile(join(root, '%2e%2e', 'secret.txt'), 'utf8')).toBe('inside');
    expect(await readFile(join(dir, 'secret.txt'), 'utf8')).toBe('outside');
  });

  it('does not follow symbolic links when listing or deleting a prefix', async () => {
    await mkdir(join(dir, 'elsewhere'));
    await writeFile(join(dir, 'elsewhere', 'file'), 'outside');
    await mkdir(root, { recursive: true });
    await symlink(join(dir, 'elsewhere'), join(root, 'link'));
    await storage.put('real', 'x');
    expect((await storage.list('')).map((o) => o.key)).toEqual(['real']);
    expect(await storage.list('link/')).toEqual([]);
    expect(await storage.deletePrefix('link/')).toBe(0);
    expect(await readFile(join(dir, 'elsewhere', 'file'), 'utf8')).toBe('outside');
  });

  it('leaves no temporary file behind when a write fails', async () => {
    const body = Readable.from(
      (async function* () {
        yield 'partial';
        throw new Error('source died');
      })(),
    );
    await expect(storage.put('v/seg.ts', body)).rejects.toThrow('source died');
    expect(await files(root)).toEqual([]);
  });

  it('keeps a custom content type in a hidden sidecar that listings skip', async () => {
    await storage.put('v/data.bin', 'x', { contentType: 'text/csv' });
    await storage.put('v/plain.m3u8', '#EXTM3U');
    expect((await files(root)).sort()).toEqual(['v/.data.bin.type', 'v/data.bin', 'v/plain.m3u8']);
    expect((await storage.list('v/')).map((o) => o.key)).toEqual(['v/data.bin', 'v/plain.m3u8']);
    await storage.delete('v/data.bin');
    expect(await files(root)).toEqual(['v/plain.m3u8']);
  });

  it('removes emptied directories and whole subtrees', async () => {
    await storage.put('videos/v1/a/b.ts', 'x');
    await storage.put('videos/v2/c.ts', 'x');
    await writeFile(join(root, 'videos', 'v2', '.c.ts.dead.tmp'), 'left by a crashed writer');
    await storage.delete('videos/v1/a/b.ts');
    expect(await readdir(join(root, 'videos'))).toEqual(['v2']);
    expect(await storage.deletePrefix('videos/v2/')).toBe(1);
    expect(await readdir(root)).toEqual([]);
  });

  it('reports a key that collides with a directory of other keys', async () => {
    await storage.put('a/b/c', 'x');
    await expectCode(storage.put('a/b', 'y'), 'failed_precondition');
    await expectCode(storage.put('a/b/c/d', 'y'), 'failed_precondition');
    expect(await storage.head('a/b')).toBeNull();
    await expectCode(storage.get('a/b'), 'not_found');
  });

  it('opens relative and file:/// URLs', async () => {
    const rel = await openStorage(`file:${relative(process.cwd(), join(dir, 'rel'))}`);
    await rel.put('k', 'relative');
    expect(await readFile(join(dir, 'rel', 'k'), 'utf8')).toBe('relative');
    const abs = await openStorage(pathToFileURL(join(dir, 'abs dir')).href);
    await abs.put('k', 'absolute');
    expect(await readFile(join(dir, 'abs dir', 'k'), 'utf8')).toBe('absolute');
  });

  it('rejects unsupported URLs', async () => {
    await expectCode(openStorage('ftp://example.com/x'), 'invalid_argument');
    await expectCode(openStorage('file:'), 'invalid_argument');
    await expectCode(openStorage('file://remote-host/share'), 'invalid_argument');
  });
});
