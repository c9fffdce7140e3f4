import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError } from '../src/errors.ts';
import type { Logger } from '../src/log.ts';
import { openStorage } from '../src/storage.ts';
import { type S3Fixture, startS3 } from './support/s3.ts';

let s3: S3Fixture;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.close();
});

async function expectCode(promise: Promise<unknown>, code: AppError['code']): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(AppError.is(err, code), `expected AppError ${code}, got ${String(err)}`).toBe(true);
  return err as AppError;
}

describe('S3 storage adapter', () => {
  it('creates a missing bucket with create=true', async () => {
    const plain = await openStorage(s3.urlFor('fresh-bucket'));
    await expectCode(plain.ping(), 'unavailable');
    const creating = await openStorage(s3.urlFor('fresh-bucket', '&create=true'));
    await creating.ping();
    await creating.put('k', 'v');
    expect(await creating.head('k')).toMatchObject({ size: 1 });
    await Promise.all([plain.close(), creating.close()]);
  });

  it('pages through listings and deletes in batches beyond 1000 keys', async () => {
    const storage = await openStorage(s3.url);
    const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}.ts`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((k) => storage.put(k, 'x')));
    }
    expect((await storage.list('many/')).map((o) => o.key)).toEqual(keys);
    expect(await storage.deletePrefix('many/')).toBe(1005);
    expect(await storage.list('many/')).toEqual([]);
    await storage.close();
  }, 60_000);

  it('abandons a failed multipart upload, warning when the server cannot abort it', async () => {
    const logger = { debug: vi.fn(), warn: vi.fn() };
    const storage = await openStorage(s3.url, { logger: logger as unknown as Logger });
    const body = Readable.from(
      (async function* () {
        yield Buffer.alloc(9 * 1024 * 1024);
        throw new Error('source died');
      })(),
    );
    await expect(storage.put('mp/failed.mp4', body)).rejects.toThrow('source died');
    expect(await storage.head('mp/failed.mp4')).toBeNull();
    // s3rver does not implement AbortMultipartUpload; real S3 does.
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({ key: 'mp/failed.mp4', uploadId: expect.any(String) }),
      'could not abort multipart upload',
    );
    await storage.close();
  });

  it('maps an unreachable server to unavailable', async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const storage = await openStorage(
      's3://b?endpoint=http://127.0.0.1:9&region=us-east-1&forcePathStyle=true&accessKeyId=a&secretAccessKey=b',
    );
    await expectCode(storage.ping(), 'unavailable');
    await expectCode(storage.get('k'), 'unavailable');
    await storage.close();
  });

  it('rejects malformed URLs without echoing secrets', async () => {
    const err = await expectCode(
      openStorage('s3://b?accessKeyId=AKID&secretAccessKey=TOPSECRET&regoin=eu-west-1'),
      'invalid_argument',
    );
    expect(err.message).toContain('regoin');
    expect(err.message).not.toContain('TOPSECRET');
    await expectCode(openStorage('s3://b?accessKeyId=only'), 'invalid_argument');
    await expectCode(openStorage('s3://b/prefix'), 'invalid_argument');
    await expectCode(openStorage('s3://b?forcePathStyle=yes'), 'invalid_argument');
    await expectCode(openStorage('s3://b?endpoint=localhost:9000'), 'invalid_argument');
  });
});
