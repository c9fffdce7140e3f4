import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.ts';
import { openStorage, type Storage } from '../src/storage.ts';
import { type S3Fixture, startS3 } from './support/s3.ts';

interface ContractOptions {
  /** Whether the backend replaces objects atomically (s3rver writes in place; real S3 does not). */
  atomicOverwrite: boolean;
}

const MiB = 1024 * 1024;

async function readAll(stream: Readable): Promise<Buffer> {
  return Buffer.concat(await stream.toArray());
}

async function expectCode(promise: Promise<unknown>, code: AppError['code']): Promise<void> {
  await expect(promise).rejects.toSatisfy((err) => AppError.is(err, code));
}

/** The behaviour every Storage adapter must have; run once per adapter below. */
function describeStorageContract(name: string, open: () => Promise<Storage>, opts: ContractOptions): void {
  describe(`${name} storage contract`, () => {
    let storage: Storage;
    let ns: string; // a fresh prefix per test: tests share one bucket or directory
    const key = (rest: string) => `${ns}${rest}`;

    beforeAll(async () => {
      storage = await open();
    });
    afterAll(async () => {
      await storage?.close();
    });
    beforeEach(() => {
      ns = `t-${randomUUID()}/`;
    });

    it('round-trips a Buffer, a Uint8Array and a string', async () => {
      const bytes = randomBytes(1000);
      await storage.put(key('a.bin'), bytes);
      await storage.put(key('b.bin'), new Uint8Array([1, 2, 3]));
      await storage.put(key('vidéo/a b+c.txt'), 'héllo');
      expect(await readAll(await storage.get(key('a.bin')))).toEqual(bytes);
      expect([...(await readAll(await storage.get(key('b.bin'))))]).toEqual([1, 2, 3]);
      expect((await readAll(await storage.get(key('vidéo/a b+c.txt')))).toString()).toBe('héllo');
    });

    it('round-trips a 20 MiB stream of odd-sized chunks (multipart on S3)', async () => {
      const data = randomBytes(20 * MiB + 12345);
      const chunks = function* () {
        for (let at = 0; at < data.length; at += 65_537) yield data.subarray(at, at + 65_537);
      };
      await storage.put(key('big.mp4'), Readable.from(chunks()));
      const back = await readAll(await storage.get(key('big.mp4')));
      expect(back.length).toBe(data.length);
      expect(createHash('sha256').update(back).digest('hex')).toBe(
        createHash('sha256').update(data).digest('hex'),
      );
      expect((await storage.head(key('big.mp4')))?.contentType).toBe('video/mp4');
    }, 60_000);

    it('round-trips an empty stream and a short one', async () => {
      await storage.put(key('empty'), Readable.from([]));
      await storage.put(key('short.json'), Readable.from(['{"a":', '1}']));
      expect((await readAll(await storage.get(key('empty')))).length).toBe(0);
      expect(JSON.parse((await readAll(await storage.get(key('short.json')))).toString())).toEqual({ a: 1 });
    });

    it('heads size, content type and time; null when missing', async () => {
      const before = Date.now() - 5_000; // some servers keep whole seconds
      await storage.put(key('master.m3u8'), '#EXTM3U\n');
      await storage.put(key('x.bin'), 'abc', { contentType: 'text/plain' });
      await storage.put(key('noext'), 'abc');
      const info = await storage.head(key('master.m3u8'));
      expect(info).toMatchObject({
        key: key('master.m3u8'),
        size: 8,
        contentType: 'application/vnd.apple.mpegurl',
      });
      expect(info?.modifiedAt.getTime()).toBeGreaterThan(before);
      expect((await storage.head(key('x.bin')))?.contentType).toBe('text/plain');
      expect((await storage.head(key('noext')))?.contentType).toBe('application/octet-stream');
      expect(await storage.head(key('missing'))).toBeNull();
    });

    it('fails get of a missing key with not_found', async () => {
      await expectCode(storage.get(key('missing.ts')), 'not_found');
      await expectCode(storage.get(key('missing.ts'), { start: 1 }), 'not_found');
    });

    it('reads inclusive byte ranges', async () => {
      await storage.put(key('r'), '0123456789abcdef');
      const read = async (range: { start: number; end?: number }) =>
        (await readAll(await storage.get(key('r'), range))).toString();
      expect(await read({ start: 2, end: 5 })).toBe('2345');
      expect(await read({ start: 3, end: 3 })).toBe('3');
      expect(await read({ start: 10 })).toBe('abcdef');
      expect(await read({ start: 14, end: 100 })).toBe('ef'); // clamped, as HTTP does
      // Not {start: 0, end: 0}: s3rver treats end 0 as "to the end" (real S3 does not).
      await expectCode(storage.get(key('r'), { start: 16 }), 'invalid_argument');
      await expectCode(storage.get(key('r'), { start: -1 }), 'invalid_argument');
      await expectCode(storage.get(key('r'), { start: 5, end: 2 }), 'invalid_argument');
      await expectCode(storage.get(key('r'), { start: 1.5 }), 'invalid_argument');
    });

    it('overwrites content and content type', async () => {
      await storage.put(key('o.bin'), 'first version', { contentType: 'text/plain' });
      await storage.put(key('o.bin'), 'v2');
      expect((await readAll(await storage.get(key('o.bin')))).toString()).toBe('v2');
      expect(await storage.head(key('o.bin'))).toMatchObject({
        size: 2,
        contentType: 'application/octet-stream',
      });
    });

    it('deletes idempotently', async () => {
      await storage.put(key('d'), 'x');
      await storage.delete(key('d'));
      await storage.delete(key('d'));
      await storage.delete(key('never/existed'));
      expect(await storage.head(key('d'))).toBeNull();
    });

    it('lists nested keys under a string prefix, sorted', async () => {
      for (const k of ['a/b/1.ts', 'a/b/c/2.ts', 'a/bc', 'a/b.txt', 'z']) await storage.put(key(k), k);
      const keys = async (prefix: string) =>
        (await storage.list(key(prefix))).map((o) => o.key.slice(ns.length));
      expect(await keys('a/b/')).toEqual(['a/b/1.ts', 'a/b/c/2.ts']);
      expect(await keys('a/b')).toEqual(['a/b.txt', 'a/b/1.ts', 'a/b/c/2.ts', 'a/bc']);
      expect(await keys('')).toHaveLength(5);
      expect(await keys('nothing/')).toEqual([]);
      const [first] = await storage.list(key('a/b/1'));
      expect(first).toMatchObject({ key: key('a/b/1.ts'), size: 8 });
      expect(first?.modifiedAt).toBeInstanceOf(Date);
    });

    it('deletes a prefix, returning the count and sparing other prefixes', async () => {
      for (const k of ['v/1/a.ts', 'v/1/b/c.ts', 'v/1/d.m3u8', 'v/10/a.ts', 'v/2/a.ts'])
        await storage.put(key(k), k);
      expect(await storage.deletePrefix(key('v/1/'))).toBe(3);
      expect((await storage.list(ns)).map((o) => o.key.slice(ns.length))).toEqual(['v/10/a.ts', 'v/2/a.ts']);
      expect(await storage.deletePrefix(key('v/1/'))).toBe(0);
      await expectCode(storage.deletePrefix(''), 'invalid_argument');
    });

    const invalidKeys = [
      '../x',
      'a/../../x',
      '/abs',
      'a//b',
      'a\\b',
      '',
      'a/',
      './a',
      'a/.hidden',
      'a\u0000b',
    ];
    const cases = [
      ...invalidKeys.map((k) => ({ bad: k, label: JSON.stringify(k) })),
      { bad: 'x'.repeat(1025), label: '1025 bytes long' },
    ];
    it.each(cases)('rejects the key $label with invalid_argument', async ({ bad }) => {
      await expectCode(storage.put(bad, 'x'), 'invalid_argument');
      await expectCode(storage.get(bad), 'invalid_argument');
      await expectCode(storage.head(bad), 'invalid_argument');
      await expectCode(storage.delete(bad), 'invalid_argument');
    });

    it('rejects invalid prefixes', async () => {
      for (const bad of ['../', '/abs/', 'a//', 'a\\b/']) {
        await expectCode(storage.list(bad), 'invalid_argument');
        await expectCode(storage.deletePrefix(bad), 'invalid_argument');
      }
    });

    it("rethrows a failing source stream's own error and keeps the previous object", async () => {
      await storage.put(key('s.ts'), 'old');
      const crash = new Error('encoder crashed');
      const body = Readable.from(
        (async function* () {
          yield Buffer.alloc(9 * MiB, 1); // past one part, so S3 is mid-multipart
          throw crash;
        })(),
      );
      await expect(storage.put(key('s.ts'), body)).rejects.toBe(crash);
      expect((await readAll(await storage.get(key('s.ts')))).toString()).toBe('old');
    });

    it.runIf(opts.atomicOverwrite)(
      'lets readers during an overwrite see the old or the new object, whole',
      async () => {
        const [a, b] = [Buffer.alloc(2 * MiB, 'a'), Buffer.alloc(2 * MiB, 'b')];
        await storage.put(key('hot.ts'), a);
        for (let round = 0; round < 10; round++) {
          const readers = Array.from({ length: 4 }, async () => readAll(await storage.get(key('hot.ts'))));
          const [, ...seen] = await Promise.all([storage.put(key('hot.ts'), round % 2 ? a : b), ...readers]);
          for (const body of seen) expect(body.equals(a) || body.equals(b)).toBe(true);
        }
      },
    );

    it('pings', async () => {
      await expect(storage.ping()).resolves.toBeUndefined();
    });
  });
}

describe('local adapter', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wavecast-storage-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  describeStorageContract('local', () => openStorage(`file:${dir}/root`), { atomicOverwrite: true });
});

describe('s3 adapter', () => {
  let s3: S3Fixture;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => {
    await s3?.close();
  });
  // s3rver writes objects in place, so concurrent readers can see a torn
  // object there; S3 itself guarantees atomic replacement.
  describeStorageContract('s3', () => openStorage(s3.url), { atomicOverwrite: false });
});
