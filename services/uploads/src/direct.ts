/**
 * The direct-to-bucket flow over HTTP, for a gateway in another process:
 * `POST /v1/videos/{id}/upload-url` and `POST /v1/videos/{id}/upload-complete`,
 * the same paths and bodies as the public API. The gateway validates and
 * documents them; this side checks the caller's token again (as tus does)
 * and leaves who may upload what to the catalog.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { acceptRequestId, REQUEST_ID_HEADER, runWithContext } from '@wavecast/kit/context';
import { AppError, httpStatus, toAppError } from '@wavecast/kit/errors';
import type { Logger } from '@wavecast/kit/log';
import type { TokenVerifier } from '@wavecast/kit/tokens';
import { bearerToken } from './http.ts';
import { errorBody } from './tus.ts';
import type { UploadsService } from './uploads.service.ts';

const DIRECT_PATH = /^\/v1\/videos\/(vid_[0-9A-HJKMNP-TV-Z]{26})\/(upload-url|upload-complete)$/;
const BODY_LIMIT = 4096;

export interface DirectHttpDeps {
  service: UploadsService;
  verifier: TokenVerifier;
  logger: Logger;
}

/** True when it answered the request (a POST to one of the two paths). */
export type DirectHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createDirectHttp(deps: DirectHttpDeps): DirectHandler {
  const serve = async (req: IncomingMessage, videoId: string, action: string): Promise<unknown> => {
    const claims = await deps.verifier.verify(bearerToken(req.headers.authorization));
    const body = await readJson(req);
    if (action === 'upload-complete') return deps.service.completeUpload(videoId, claims.sub);
    const size = body.size_bytes;
    if (size !== undefined && typeof size !== 'number') {
      throw new AppError('invalid_argument', 'size_bytes must be a number', {
        fields: [{ field: 'size_bytes', message: 'must be a whole number of bytes, at least 1' }],
      });
    }
    return deps.service.presignUpload(videoId, claims.sub, size);
  };

  return (req, res) => {
    const match = DIRECT_PATH.exec((req.url ?? '/').split('?')[0] ?? '/');
    if (!match || req.method !== 'POST') return false;
    const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]);
    const send = (status: number, text: string) => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(status, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        [REQUEST_ID_HEADER]: requestId,
      });
      res.end(text);
    };
    void runWithContext({ requestId }, async () => {
      try {
        send(200, JSON.stringify(await serve(req, match[1]!, match[2]!)));
      } catch (err) {
        const appErr = toAppError(err);
        if (appErr.code === 'internal') deps.logger.error({ err }, 'direct upload request failed');
        send(httpStatus(appErr.code), errorBody(appErr, requestId));
      }
    });
    return true;
  };
}

/** A small JSON object body; an empty body is `{}`. */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT)
      throw new AppError('payload_too_large', `request body is larger than ${BODY_LIMIT} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AppError('invalid_argument', 'request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AppError('invalid_argument', 'request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}
