/**
 * Presigned GET URLs of the S3 adapter, against s3rver: anyone can fetch the
 * object (whole or a range) with the URL alone, for the lifetime asked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.ts';
import { openStorage, type Storage } from '../src/storage.ts';
import { type S3Fixture, startS3 } from './support/s3.ts';

let s3: S3Fixture;
let storage: Storage;
beforeAll(async () => {
  s3 = await startS3();
  storage = await openStorage(s3.url);
});
afterAll(async () => {
  await storage?.close();
  await s3?.close();
});

describe('S3 presigned GET URLs', () => {
  it('fetch the object, or a range of it, without credentials', async () => {
    await storage.put('videos/vid_x/seg 1.m4s', Buffer.from('0123456789'));
    const url = await storage.presignGet!('videos/vid_x/seg 1.m4s', 300);
    const parsed = new URL(url);
    expect(parsed.origin).toBe(s3.endpoint);
    expect(parsed.pathname).toBe(`/${s3.bucket}/videos/vid_x/seg%201.m4s`);
    expect(parsed.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(parsed.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(await whole.text()).toBe('0123456789');
    expect(whole.headers.get('content-type')).toBe('video/iso.segment');
    const part = await fetch(url, { headers: { range: 'bytes=2-4' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('234');
  });

  it('stop working once they expire', async () => {
    await storage.put('videos/vid_x/short.m4s', 'x');
    const url = await storage.presignGet!('videos/vid_x/short.m4s', 1);
    expect((await fetch(url)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await fetch(url)).status).toBe(403);
  });

  it('refuses bad keys and lifetimes; the local adapter has none', async () => {
    for (const ttl of [0, -1, 1.5, 604_801]) {
      await expect(storage.presignGet!('k', ttl)).rejects.toSatisfy((e) =>
        AppError.is(e, 'invalid_argument'),
      );
    }
    await expect(storage.presignGet!('../k', 60)).rejects.toSatisfy((e) =>
      AppError.is(e, 'invalid_argument'),
    );
    const dir = await mkdtemp(join(tmpdir(), 'wavecast-presign-'));
    const local = await openStorage(`file:${dir}`);
    expect(local.presignGet).toBeUndefined();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  });
});
