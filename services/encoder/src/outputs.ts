/**
 * What the encode left in its output directory: reading the manifests ffmpeg
 * wrote (renditions, codec strings, duration), storing every file under
 * `videos/<id>/`, and the completion marker that makes a job idempotent.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventData } from '@wavecast/contracts/events';
import type { Storage } from '@wavecast/kit/storage';
import type { EncodePlan } from './ladder.ts';
import type { Thumbnails } from './thumbnails.ts';

export const MASTER_FILE = 'master.m3u8';
export const MANIFEST_FILE = 'manifest.mpd';
/**
 * Written last, holding the `video.encoded.v1` payload. Not `.complete`:
 * storage keys cannot have segments starting with a dot.
 */
export const MARKER_FILE = 'encoded.json';
const UPLOAD_CONCURRENCY = 4;

export type EncodedPayload = EventData<'video.encoded.v1'>;

export const videoPrefix = (videoId: string) => `videos/${videoId}/`;

export interface Variant {
  /** The media playlist's index: ffmpeg's output stream number (videos first, then audio). */
  index: number;
  bandwidth: number;
  codecs: string;
}

/** The `#EXT-X-STREAM-INF` entries of a master playlist written by ffmpeg's dash muxer. */
export function parseMaster(text: string): Variant[] {
  const lines = text.split('\n').map((l) => l.trim());
  const variants: Variant[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith('#EXT-X-STREAM-INF:')) return;
    const uri = lines.slice(i + 1).find((l) => l !== '' && !l.startsWith('#')) ?? '';
    const index = /^media_(\d+)\.m3u8$/.exec(uri)?.[1];
    if (index === undefined) throw new Error(`unexpected variant playlist "${uri}" in ${MASTER_FILE}`);
    variants.push({
      index: Number(index),
      bandwidth: Number(/BANDWIDTH=(\d+)/.exec(line)?.[1] ?? 0),
      codecs: /CODECS="([^"]*)"/.exec(line)?.[1] ?? '',
    });
  });
  return variants;
}

/** `mediaPresentationDuration` of an MPD in seconds (`PT1H2M3.5S` → 3723.5), or null. */
export function parseMpdDuration(text: string): number | null {
  const value = /mediaPresentationDuration="([^"]+)"/.exec(text)?.[1];
  const m = value && /^P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?$/.exec(value);
  if (!m) return null;
  const [days, hours, minutes, seconds] = m.slice(1).map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
  ];
  return ((days * 24 + hours) * 60 + minutes) * 60 + seconds;
}

export async function readManifests(dir: string): Promise<{ variants: Variant[]; duration: number | null }> {
  const [master, mpd] = await Promise.all([
    readFile(join(dir, MASTER_FILE), 'utf8'),
    readFile(join(dir, MANIFEST_FILE), 'utf8'),
  ]);
  return { variants: parseMaster(master), duration: parseMpdDuration(mpd) };
}

/** The `video.encoded.v1` payload: the planned renditions, with what ffmpeg wrote about each. */
export function encodedPayload(opts: {
  videoId: string;
  plan: EncodePlan;
  manifests: { variants: Variant[] };
  thumbnails: Thumbnails;
  durationSeconds: number;
}): EncodedPayload {
  const { plan, thumbnails } = opts;
  const prefix = videoPrefix(opts.videoId);
  const renditions = opts.manifests.variants.map((v) => {
    // Media playlists are numbered by output stream: the videos, then the audio.
    const video = plan.video[v.index];
    const audio = plan.audio[v.index - plan.video.length];
    return {
      name: video?.name ?? audio?.name ?? `media_${v.index}`,
      width: video?.width ?? 0,
      height: video?.height ?? 0,
      bandwidth: v.bandwidth,
      codecs: v.codecs,
    };
  });
  const planned = plan.video.length || plan.audio.length;
  if (renditions.length !== planned) {
    throw new Error(`${MASTER_FILE} lists ${renditions.length} renditions, not the ${planned} planned`);
  }
  const sb = thumbnails.storyboard;
  return {
    video_id: opts.videoId,
    duration_seconds: Math.round(opts.durationSeconds * 1000) / 1000,
    hls_key: prefix + MASTER_FILE,
    dash_key: prefix + MANIFEST_FILE,
    poster_key: thumbnails.poster ? prefix + thumbnails.poster : null,
    storyboard: sb && {
      key: prefix + sb.file,
      columns: sb.layout.columns,
      rows: sb.layout.rows,
      tile_width: sb.layout.tileWidth,
      tile_height: sb.layout.tileHeight,
      interval_seconds: sb.layout.intervalSeconds,
    },
    renditions,
    encoded_at: new Date().toISOString(),
  };
}

/** Playlists and manifests go last, so whatever they name is stored before them. */
const uploadRank = (file: string) =>
  file === MASTER_FILE ? 3 : file === MANIFEST_FILE ? 2 : file.endsWith('.m3u8') ? 1 : 0;

/** Stores every file of `dir` under `prefix` (content types follow the extensions); returns the keys. */
export async function uploadDir(
  storage: Storage,
  dir: string,
  prefix: string,
  signal: AbortSignal,
): Promise<string[]> {
  const files = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort((a, b) => uploadRank(a) - uploadRank(b) || a.localeCompare(b));
  for (let rank = 0; rank <= 3; rank++) {
    const queue = files.filter((f) => uploadRank(f) === rank);
    const worker = async () => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        signal.throwIfAborted();
        await storage.put(prefix + file, createReadStream(join(dir, file)));
      }
    };
    await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, worker));
  }
  return files.map((f) => prefix + f);
}

/** The stored payload of a finished encode, or null (absent, or unreadable: then it is redone). */
export async function readMarker(storage: Storage, videoId: string): Promise<EncodedPayload | null> {
  const key = videoPrefix(videoId) + MARKER_FILE;
  if (!(await storage.head(key))) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.get(key)) chunks.push(chunk as Buffer);
  try {
    const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as EncodedPayload;
    return payload.video_id === videoId && typeof payload.hls_key === 'string' ? payload : null;
  } catch {
    return null;
  }
}

export async function writeMarker(storage: Storage, payload: EncodedPayload): Promise<void> {
  await storage.put(videoPrefix(payload.video_id) + MARKER_FILE, JSON.stringify(payload));
}
