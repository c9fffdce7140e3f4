/**
 * The gateway's HTTP client of the uploads service (distributed shape): the
 * caller's token, the body and the request id are forwarded, and the
 * uploads service's JSON errors come back as the AppErrors they were.
 */
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runWithContext } from '@wavecast/kit/context';
import { AppError } from '@wavecast/kit/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpUploadsBackend } from '../src/uploads-backend.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

describe('httpUploadsBackend', () => {
  let server: http.Server;
  let target: string;
  const seen: Seen[] = [];
  let answer: { status: number; body: string } = { status: 200, body: '{}' };

  beforeAll(async () => {
    server = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const caller = { userId: 'usr_1', accessToken: 'tok.en' };
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a rejection');
      },
      (err: unknown) => err as AppError,
    );

  it('forwards the token, the size and the request id, and returns the answer', async () => {
    const direct = {
      url: 'https://bucket.example/uploads/vid_1/source?X-Amz-Signature=abc',
      method: 'PUT',
      headers: { 'content-length': '42' },
      expires_at: '2026-01-01T00:00:00.000Z',
      max_bytes: 42,
    };
    answer = { status: 200, body: JSON.stringify(direct) };
    const backend = httpUploadsBackend(target);
    const got = await runWithContext({ requestId: 'req-1' }, () =>
      backend.presignUpload('vid_1', caller, 42),
    );
    expect(got).toEqual(direct);
    expect(seen.at(-1)).toMatchObject({
      method: 'POST',
      url: '/v1/videos/vid_1/upload-url',
      headers: { authorization: 'Bearer tok.en', 'x-request-id': 'req-1' },
      body: '{"size_bytes":42}',
    });
    answer = { status: 200, body: JSON.stringify({ size_bytes: 42, probe: { width: 640 } }) };
    expect(await backend.completeUpload('vid_1', caller)).toMatchObject({ size_bytes: 42 });
    expect(seen.at(-1)).toMatchObject({ url: '/v1/videos/vid_1/upload-complete', body: '{}' });
  });

  it('turns the JSON errors back into AppErrors, and anything else into unavailable', async () => {
    const backend = httpUploadsBackend(target);
    answer = {
      status: 403,
      body: JSON.stringify({
        error: { code: 'permission_denied', message: 'only the owner', request_id: 'x' },
      }),
    };
    expect(await failure(backend.completeUpload('vid_1', caller))).toMatchObject({
      code: 'permission_denied',
      message: 'only the owner',
    });
    answer = {
      status: 400,
      body: JSON.stringify({
        error: { code: 'invalid_argument', message: 'bad', fields: [{ field: 'size_bytes', message: 'm' }] },
      }),
    };
    expect(await failure(backend.presignUpload('vid_1', caller))).toMatchObject({
      code: 'invalid_argument',
      fields: [{ field: 'size_bytes', message: 'm' }],
    });
    answer = { status: 502, body: '<html>bad gateway</html>' };
    expect(await failure(backend.presignUpload('vid_1', caller))).toMatchObject({ code: 'unavailable' });
    const gone = httpUploadsBackend('http://127.0.0.1:1');
    const err = await failure(gone.presignUpload('vid_1', caller));
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('unavailable');
  });
});
