/**
 * Helpers for the VOD tests that run the pipeline as separate processes:
 * test media (a poison file among them), tus uploads with tus-js-client, a
 * video's stored outputs against what its manifests name, processes found by
 * their command line, JSON log lines, and polling with a deadline.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { type HttpRequest, Upload } from 'tus-js-client';
import type { Storage } from '../../../packages/kit/src/storage.ts';
import type { Proc } from './processes.ts';

const exec = promisify(execFile);

/** Writes an H.264 (+ AAC unless `audio` is false) MP4 test pattern, index in front, a keyframe every second. */
export async function makeClip(
  path: string,
  opts: { width: number; height: number; seconds: number; audio?: boolean },
): Promise<Buffer> {
  const audio = opts.audio ?? true;
  await exec('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${opts.width}x${opts.height}:rate=30`,
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000'] : []),
    '-t',
    String(opts.seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '30',
    ...(audio ? ['-c:a', 'aac', '-b:a', '64k'] : []),
    '-movflags',
    '+faststart',
    path,
  ]);
  return readFile(path);
}

/**
 * A poison file: copies `source` (video only, see makeClip) and overwrites
 * the NAL length prefix of every frame but the keyframes. The header probes
 * fine and the keyframes decode, so the uploads service's checks (first
 * frame, a frame 2 s before the end) pass; but most frames cannot be
 * decoded, and ffmpeg gives up on the file (exit 69: more than 2/3 of the
 * decodes failed).
 */
export async function makePoison(
  source: string,
  path: string,
): Promise<{ corrupted: number; frames: number }> {
  const { stdout } = await exec('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'packet=pos,flags',
    '-of',
    'json',
    source,
  ]);
  const packets = (JSON.parse(stdout) as { packets: { pos: string; flags: string }[] }).packets;
  const bytes = await readFile(source);
  let corrupted = 0;
  for (const packet of packets) {
    if (packet.flags.startsWith('K')) continue;
    const pos = Number(packet.pos);
    bytes.fill(0xff, pos, pos + 4);
    corrupted++;
  }
  await writeFile(path, bytes);
  return { corrupted, frames: packets.length };
}

export interface TusRequestRecord {
  method: string;
  url: string;
  offset: string | undefined;
  at: number;
}

export interface TusUploadOptions {
  chunkSize?: number;
  /** tus-js-client's retry delays; none by default (a failure rejects). */
  retryDelays?: number[];
  uploadUrl?: string;
  /** 0-1: abort the upload once this share is sent, and resolve. */
  abortAt?: number;
  onProgress?: (sent: number, total: number) => void;
  /** Called once the upload has its URL (created, or resumed). */
  onUploadUrl?: (url: string) => void;
  /** Every request tus-js-client sends is recorded here. */
  requests?: TusRequestRecord[];
}

/** Uploads `file` for `videoId` with tus-js-client; resolves with the upload URL. */
export function tusUpload(
  endpoint: string,
  file: Buffer,
  token: string,
  videoId: string,
  opts: TusUploadOptions = {},
): Promise<{ url: string; aborted: boolean }> {
  return new Promise((resolve, reject) => {
    const upload: Upload = new Upload(file, {
      endpoint,
      ...(opts.uploadUrl && { uploadUrl: opts.uploadUrl }),
      chunkSize: opts.chunkSize ?? 512 * 1024,
      retryDelays: opts.retryDelays ?? [],
      headers: { authorization: `Bearer ${token}` },
      metadata: { video_id: videoId, filename: 'clip.mp4', filetype: 'video/mp4' },
      onBeforeRequest: (req: HttpRequest) => {
        opts.requests?.push({
          method: req.getMethod(),
          url: req.getURL(),
          offset: req.getHeader('Upload-Offset'),
          at: Date.now(),
        });
      },
      onUploadUrlAvailable: () => opts.onUploadUrl?.(upload.url ?? ''),
      onProgress: (sent, total) => {
        opts.onProgress?.(sent, total);
        if (opts.abortAt !== undefined && sent / total >= opts.abortAt) {
          void upload.abort().then(() => resolve({ url: upload.url ?? '', aborted: true }));
        }
      },
      onSuccess: () => resolve({ url: upload.url ?? '', aborted: false }),
      onError: reject,
    });
    upload.start();
  });
}

export async function readObject(storage: Storage, key: string): Promise<Buffer> {
  return Buffer.concat(await (await storage.get(key)).toArray());
}

/** URIs a playlist names: its media lines and `URI="…"` attributes (init segments, audio renditions). */
function playlistUris(text: string): string[] {
  const uris: string[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      for (const m of line.matchAll(/URI="([^"]+)"/g)) uris.push(m[1]!);
    } else {
      uris.push(line);
    }
  }
  return uris;
}

/**
 * The keys a READY video needs: its marker, both manifests, the poster and
 * storyboard it names, every media playlist of the master and every init and
 * media segment of those. Fails if any of them is missing or empty.
 */
export async function referencedOutputs(storage: Storage, videoId: string): Promise<string[]> {
  const prefix = `videos/${videoId}/`;
  const text = async (key: string) => (await readObject(storage, key)).toString('utf8');
  const marker = JSON.parse(await text(`${prefix}encoded.json`)) as {
    hls_key: string;
    dash_key: string;
    poster_key: string | null;
    storyboard: { key: string } | null;
  };
  const keys = new Set([`${prefix}encoded.json`, marker.hls_key, marker.dash_key]);
  if (marker.poster_key) keys.add(marker.poster_key);
  if (marker.storyboard) keys.add(marker.storyboard.key);
  for (const playlist of playlistUris(await text(marker.hls_key))) {
    keys.add(prefix + playlist);
    for (const uri of playlistUris(await text(prefix + playlist))) keys.add(prefix + uri);
  }
  for (const key of keys) {
    const info = await storage.head(key);
    if (!info || info.size === 0)
      throw new Error(`${key} is named by the outputs of ${videoId} but ${info ? 'empty' : 'missing'}`);
  }
  return [...keys].sort();
}

/** Keys stored under `videos/<id>/`. */
export async function storedOutputs(storage: Storage, videoId: string): Promise<string[]> {
  return (await storage.list(`videos/${videoId}/`)).map((o) => o.key);
}

/** Processes (of any parent) whose command line contains `text`; ps is told not to truncate. */
export async function processesMentioning(text: string): Promise<{ pid: number; args: string }[]> {
  const { stdout } = await exec('ps', ['-eww', '-o', 'pid=,args=']);
  return stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[2]!.includes(text))
    .map((m) => ({ pid: Number(m[1]), args: m[2]! }));
}

export type LogLine = Record<string, unknown> & { msg?: string };

/** The JSON (pino) lines a process has written so far. */
export function logLines(...procs: Proc[]): LogLine[] {
  return procs.flatMap((proc) =>
    proc
      .output()
      .split('\n')
      .flatMap((line) => {
        if (!line.startsWith('{')) return [];
        try {
          return [JSON.parse(line) as LogLine];
        } catch {
          return [];
        }
      }),
  );
}

/**
 * Retries `check` every `intervalMs` until it returns without throwing, or
 * fails with its last error (prefixed with `what`) once `ms` have passed.
 */
export async function until<T>(
  what: string,
  check: () => Promise<T> | T,
  ms: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) {
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(`${what}: not within ${ms} ms: ${why}`, { cause: err });
      }
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
