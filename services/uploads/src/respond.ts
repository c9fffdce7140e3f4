/**
 * Writing answers to node responses: tus's (a web Response, its plain-text
 * errors turned into the gateway's JSON errors), ours, and the CORS headers
 * they carry. Also the node request as the web Request tus takes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { EXPOSED_HEADERS, TUS_RESUMABLE } from '@tus/server';
import { AppError, type ErrorCode, httpStatus } from '@wavecast/kit/errors';
import { errorBody } from './tus.ts';

/** The node request as a web Request for tus, body streamed (tus's own adapter does the same). */
export function toWebRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const method = req.method ?? 'GET';
  const hasBody = method === 'POST' || method === 'PATCH';
  // The host does not matter: upload URLs are relative.
  return new Request(`http://localhost${req.url ?? '/'}`, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : null,
    ...(hasBody && { duplex: 'half' }),
  } as RequestInit);
}

/** Codes for tus's own error statuses, which keep their status (tus clients act on it). */
const tusCodes: Record<number, ErrorCode> = {
  400: 'invalid_argument',
  403: 'invalid_argument', // a missing Upload-Offset or Content-Type
  404: 'not_found',
  409: 'failed_precondition', // Upload-Offset does not match
  410: 'not_found',
  412: 'failed_precondition', // unsupported Tus-Resumable
  413: 'payload_too_large',
  501: 'invalid_argument', // an extension this server does not offer
};

/** Writes tus's answer; its plain-text errors become JSON errors with the same status. */
export async function sendTus(
  req: IncomingMessage,
  res: ServerResponse,
  web: Request,
  response: Response,
  requestId: string,
) {
  let body = Buffer.from(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  if (response.status >= 400) {
    if (!isErrorJson(body)) {
      const code = tusCodes[response.status] ?? 'internal';
      const message = body.toString('utf8').trim() || 'upload request failed';
      body = Buffer.from(errorBody(new AppError(code, message), requestId));
    }
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.length);
  }
  if (!(await drainBody(req, web))) headers.connection = 'close';
  if (res.destroyed) return;
  res.writeHead(response.status, headers);
  res.end(req.method === 'HEAD' || body.length === 0 ? undefined : body);
}

/** Bodies up to this size are read to their end when refused, so the client reads the answer. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/**
 * Reads what is left of a request body that will not be used. Answering
 * while a client still sends makes many clients (fetch, XHR) see a reset
 * instead of the answer; a larger body is not worth reading, and the
 * connection closes after the answer instead. False when it must close.
 */
async function drainBody(req: IncomingMessage, web: Request | undefined): Promise<boolean> {
  if (req.complete || req.readableEnded || !web?.body) return true;
  if (web.body.locked || !(Number(req.headers['content-length']) <= DRAIN_LIMIT)) return false;
  try {
    for await (const _ of web.body);
    return true;
  } catch {
    return false;
  }
}

/** The answer to a HEAD on an upload that was judged just now: complete. */
export function sendComplete(req: IncomingMessage, res: ServerResponse, size: number, origins: string[]) {
  res.writeHead(200, {
    ...corsHeaders(origins, req.headers.origin),
    'tus-resumable': TUS_RESUMABLE,
    'upload-offset': String(size),
    'upload-length': String(size),
    'cache-control': 'no-store',
  });
  res.end();
}

function isErrorJson(body: Buffer): boolean {
  if (body[0] !== 0x7b) return false; // '{'
  try {
    return typeof (JSON.parse(body.toString('utf8')) as { error?: unknown }).error === 'object';
  } catch {
    return false;
  }
}

/** CORS on the answers written here; tus sets its own on the rest, from the same origins. */
function corsHeaders(origins: string[], origin: string | undefined): Record<string, string> {
  const allowed = origins.includes('*') ? '*' : origin && origins.includes(origin) ? origin : undefined;
  if (!allowed) return {};
  return {
    'access-control-allow-origin': allowed,
    'access-control-expose-headers': `${EXPOSED_HEADERS}, X-Request-Id`,
    ...(allowed !== '*' && { vary: 'Origin' }),
  };
}

/** An AppError as the gateway's JSON error, with CORS and tus headers. */
export async function sendAppError(
  req: IncomingMessage,
  res: ServerResponse,
  web: Request | undefined,
  err: AppError,
  requestId: string,
  origins: string[],
): Promise<void> {
  if (res.headersSent) return void res.destroy();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'tus-resumable': TUS_RESUMABLE,
    ...corsHeaders(origins, req.headers.origin),
  };
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
  if (!(await drainBody(req, web))) headers.connection = 'close';
  if (res.destroyed) return;
  res.writeHead(httpStatus(err.code), headers);
  res.end(errorBody(err, requestId));
}
