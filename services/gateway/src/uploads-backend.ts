/**
 * How the gateway reaches the uploads service for the direct-to-bucket flow
 * (`upload-url`, `upload-complete`): in the all-in-one process its methods
 * are called in memory; distributed, the same paths are called on an
 * uploads instance (UPLOADS_TARGET) with the caller's token, which the
 * uploads service verifies again. Who may upload what is the catalog's to
 * say (the uploads service asks it), not the gateway's.
 */
import { currentRequestId, REQUEST_ID_HEADER } from '@wavecast/kit/context';
import { AppError, isErrorCode } from '@wavecast/kit/errors';
import type { DirectUploadView, UploadedFileView } from './upload.schemas.ts';

/** Who asks: the verified user, and the token they sent (forwarded when the call leaves the process). */
export interface UploadCaller {
  userId: string;
  accessToken: string;
}

export interface UploadsBackend {
  presignUpload(videoId: string, caller: UploadCaller, sizeBytes?: number): Promise<DirectUploadView>;
  completeUpload(videoId: string, caller: UploadCaller): Promise<UploadedFileView>;
}

/** The uploads service's own methods, in this process (the gateway has verified the token). */
export function inProcessUploads(uploads: {
  presignUpload(videoId: string, actorId: string, sizeBytes?: number): Promise<DirectUploadView>;
  completeUpload(videoId: string, actorId: string): Promise<UploadedFileView>;
}): UploadsBackend {
  return {
    presignUpload: (videoId, caller, sizeBytes) => uploads.presignUpload(videoId, caller.userId, sizeBytes),
    completeUpload: (videoId, caller) => uploads.completeUpload(videoId, caller.userId),
  };
}

/** Judging a file runs ffprobe over a presigned GET of it: give it time. */
const CALL_TIMEOUT_MS = 120_000;

/** The uploads service at `target` (e.g. http://uploads:8082), over HTTP. */
export function httpUploadsBackend(target: string): UploadsBackend {
  const base = target.replace(/\/+$/, '');
  const call = async <T>(videoId: string, action: string, caller: UploadCaller, body: object) => {
    const requestId = currentRequestId();
    let res: Response;
    try {
      res = await fetch(`${base}/v1/videos/${encodeURIComponent(videoId)}/${action}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${caller.accessToken}`,
          'content-type': 'application/json',
          ...(requestId && { [REQUEST_ID_HEADER]: requestId }),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (err) {
      if (err instanceof Error && err.name === 'TimeoutError') {
        throw new AppError('deadline_exceeded', 'the uploads service did not answer in time', { cause: err });
      }
      throw new AppError('unavailable', 'the uploads service does not answer', { cause: err });
    }
    const text = await res.text();
    if (res.ok) return JSON.parse(text) as T;
    throw errorFrom(res.status, text);
  };
  return {
    presignUpload: (videoId, caller, sizeBytes) =>
      call<DirectUploadView>(
        videoId,
        'upload-url',
        caller,
        sizeBytes === undefined ? {} : { size_bytes: sizeBytes },
      ),
    completeUpload: (videoId, caller) => call<UploadedFileView>(videoId, 'upload-complete', caller, {}),
  };
}

/** The uploads service's JSON error as the AppError it was; anything else is a broken dependency. */
function errorFrom(status: number, text: string): AppError {
  let error: { code?: unknown; message?: unknown; fields?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    error = undefined;
  }
  if (typeof error?.code === 'string' && isErrorCode(error.code) && typeof error.message === 'string') {
    const fields = Array.isArray(error.fields) ? (error.fields as { field: string; message: string }[]) : [];
    return new AppError(error.code, error.message, { fields });
  }
  return new AppError('unavailable', `the uploads service answered ${status}`);
}
