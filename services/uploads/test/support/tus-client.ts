/** tus-js-client as a browser would use it, with its URL storage in memory (a page's localStorage). */
import { type DetailedError, Upload } from 'tus-js-client';

type PreviousUpload = Awaited<ReturnType<Upload['findPreviousUploads']>>[number];

export class MemoryUrlStorage {
  readonly #items = new Map<string, PreviousUpload>();

  async findAllUploads() {
    return [...this.#items.values()];
  }

  async findUploadsByFingerprint(fingerprint: string) {
    return [...this.#items.entries()].filter(([key]) => key.startsWith(`${fingerprint}::`)).map(([, u]) => u);
  }

  async removeUpload(key: string) {
    this.#items.delete(key);
  }

  async addUpload(fingerprint: string, upload: PreviousUpload) {
    const key = `${fingerprint}::${Math.random().toString(36).slice(2)}`;
    this.#items.set(key, { ...upload, urlStorageKey: key });
    return key;
  }
}

export interface TusOptions {
  endpoint: string;
  token: string;
  videoId: string;
  chunkSize?: number;
  urlStorage?: MemoryUrlStorage;
  /** Resume the upload found in `urlStorage` for this file, if any. */
  resume?: boolean;
}

export interface TusResult {
  url: string;
  patches: number;
}

/** Uploads `file`; rejects with tus's DetailedError (status and body of the last response). */
export async function tusUpload(file: Buffer, opts: TusOptions): Promise<TusResult> {
  let patches = 0;
  const upload = new Upload(file, {
    endpoint: opts.endpoint,
    headers: { Authorization: `Bearer ${opts.token}` },
    metadata: { video_id: opts.videoId, filename: 'clip.mp4', filetype: 'video/mp4' },
    chunkSize: opts.chunkSize ?? 256 * 1024,
    retryDelays: null,
    urlStorage: opts.urlStorage ?? new MemoryUrlStorage(),
    removeFingerprintOnSuccess: true,
    onBeforeRequest(req) {
      if (req.getMethod() === 'PATCH') patches++;
    },
  });
  const done = new Promise<TusResult>((resolve, reject) => {
    upload.options.onSuccess = () => resolve({ url: upload.url ?? '', patches });
    upload.options.onError = reject;
  });
  if (opts.resume) {
    const [previous] = await upload.findPreviousUploads();
    if (!previous) throw new Error('no previous upload to resume');
    upload.resumeFromPreviousUpload(previous);
  }
  upload.start();
  return done;
}

/** The status and parsed JSON body of a failed tus request. */
export function failure(err: unknown): { status: number | undefined; body: any } {
  const res = (err as DetailedError).originalResponse;
  const text = res?.getBody() ?? '';
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res?.getStatus(), body };
}
