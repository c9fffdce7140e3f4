/** The platform's public API as the VOD benchmarks use it: accounts, videos, and tus uploads. */
import { createReadStream } from 'node:fs';
import { Upload } from 'tus-js-client';
import { nowMs } from './protocol.ts';

export interface Session {
  id: string;
  username: string;
  password: string;
  token: string;
}

async function call<T>(
  base: string,
  method: string,
  path: string,
  expected: number,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(opts.body !== undefined && { 'content-type': 'application/json' }),
      ...(opts.token && { authorization: `Bearer ${opts.token}` }),
      ...opts.headers,
    },
    ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  if (res.status !== expected)
    throw new Error(`${method} ${path}: expected ${expected}, got ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function register(base: string, username: string): Promise<Session> {
  const password = 'correct horse battery staple';
  const res = await call<{ user: { id: string }; access_token: string }>(
    base,
    'POST',
    '/v1/auth/register',
    201,
    {
      body: { username, email: `${username}@bench.example`, password },
    },
  );
  return { id: res.user.id, username, password, token: res.access_token };
}

/** A fresh access token (they live 15 minutes; a long benchmark logs in again). */
export async function relogin(base: string, session: Session): Promise<Session> {
  const res = await call<{ access_token: string }>(base, 'POST', '/v1/auth/login', 200, {
    body: { login: session.username, password: session.password },
  });
  return { ...session, token: res.access_token };
}

export interface VideoInput {
  title: string;
  description?: string;
  tags?: string[];
  visibility?: 'public' | 'unlisted' | 'private';
}

export async function createVideo(base: string, session: Session, input: VideoInput): Promise<string> {
  const res = await call<{ video: { id: string } }>(base, 'POST', '/v1/videos', 201, {
    token: session.token,
    body: input,
  });
  return res.video.id;
}

export interface VideoState {
  id: string;
  status: string;
  progress: number;
  failure_reason: string | null;
}

export function getVideo(base: string, id: string, opts: { token?: string; userAgent?: string } = {}) {
  return call<VideoState>(base, 'GET', `/v1/videos/${id}`, 200, {
    ...(opts.token && { token: opts.token }),
    ...(opts.userAgent && { headers: { 'user-agent': opts.userAgent } }),
  });
}

export async function deleteVideo(base: string, session: Session, id: string): Promise<void> {
  await call(base, 'DELETE', `/v1/videos/${id}`, 204, { token: session.token });
}

/** Polls the video (as its owner) every `everyMs` until it is `status`; when that was seen (epoch ms). */
export async function waitForStatus(
  base: string,
  session: Session,
  id: string,
  status: string,
  opts: { everyMs: number; timeoutMs: number },
): Promise<number> {
  const deadline = performance.now() + opts.timeoutMs;
  for (;;) {
    const video = await getVideo(base, id, { token: session.token });
    if (video.status === status) return nowMs();
    if (video.status === 'failed') throw new Error(`video ${id} failed: ${video.failure_reason}`);
    if (performance.now() > deadline)
      throw new Error(`video ${id} not ${status} within ${opts.timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, opts.everyMs));
  }
}

export interface TusTimings {
  bytes: number;
  /** Epoch ms: `start()`, the creation POST answered, the last byte handed to the socket, the final PATCH answered. */
  startedMs: number;
  createdMs: number;
  lastByteSentMs: number;
  doneMs: number;
  /** Each PATCH: bytes it carried, when it was sent and when its answer came (epoch ms). */
  patches: { bytes: number; sentMs: number; answeredMs: number }[];
}

/**
 * Uploads the file at `path` with tus-js-client (Node: the file is read
 * chunk by chunk from disk), `chunkSize` bytes per PATCH, no retries (a
 * failure fails the benchmark), timing every request.
 */
export function tusUpload(
  base: string,
  session: Session,
  videoId: string,
  path: string,
  chunkSize: number,
): Promise<TusTimings> {
  return new Promise((resolve, reject) => {
    const timings: TusTimings = {
      bytes: 0,
      startedMs: 0,
      createdMs: 0,
      lastByteSentMs: 0,
      doneMs: 0,
      patches: [],
    };
    let offset = 0;
    let sentMs = 0;
    // The Node build reads an fs.ReadStream with a path slice by slice (its types only name Buffer).
    const file = createReadStream(path) as unknown as Buffer;
    const upload = new Upload(file, {
      endpoint: `${base}/v1/uploads/`,
      chunkSize,
      retryDelays: [],
      storeFingerprintForResuming: false,
      headers: { authorization: `Bearer ${session.token}` },
      metadata: { video_id: videoId, filename: 'bench.mp4', filetype: 'video/mp4' },
      onBeforeRequest(req) {
        if (req.getMethod() === 'PATCH') sentMs = nowMs();
      },
      onAfterResponse(req, res) {
        const at = nowMs();
        if (req.getMethod() === 'POST') timings.createdMs = at;
        if (req.getMethod() !== 'PATCH') return;
        const next = Number(res.getHeader('Upload-Offset'));
        timings.patches.push({ bytes: next - offset, sentMs, answeredMs: at });
        offset = next;
      },
      onProgress(sent, total) {
        timings.bytes = total;
        if (sent === total && timings.lastByteSentMs === 0) timings.lastByteSentMs = nowMs();
      },
      onSuccess() {
        timings.doneMs = nowMs();
        resolve(timings);
      },
      onError: reject,
    });
    timings.startedMs = nowMs();
    upload.start();
  });
}
