/**
 * Records the source rendition of a live session into storage as it is
 * packaged: the fMP4 init and media segments, and at the end an HLS VOD
 * playlist over them. The recording is the session's segments, never
 * re-encoded; a later step can turn it into a catalog video.
 */
import type { Logger } from '@wavecast/kit/log';
import type { Storage } from '@wavecast/kit/storage';
import type { CompletedSegment } from './hls/index.ts';

interface Entry {
  msn: number;
  duration: number;
  initId: number;
  discontinuity: boolean;
}

export interface Recording {
  /** Storage key of the playlist (`recordings/<session>/index.m3u8`). */
  key: string;
  durationSeconds: number;
  segments: number;
}

export class Recorder {
  readonly #storage: Storage;
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #entries: Entry[] = [];
  readonly #inits = new Set<number>();
  #queue: Promise<void> = Promise.resolve();
  #failed = 0;

  constructor(storage: Storage, sessionId: string, log: Logger) {
    this.#storage = storage;
    this.#prefix = `recordings/${sessionId}/`;
    this.#log = log;
  }

  /** Queues a completed segment (writes stay in order, one at a time). */
  add(segment: CompletedSegment): void {
    const writeInit = !this.#inits.has(segment.initId);
    this.#inits.add(segment.initId);
    const discontinuity = segment.discontinuity || (writeInit && this.#entries.length > 0);
    this.#queue = this.#queue.then(async () => {
      try {
        if (writeInit) await this.#storage.put(`${this.#prefix}init-${segment.initId}.mp4`, segment.init);
        await this.#storage.put(`${this.#prefix}seg-${segment.msn}.m4s`, segment.bytes);
        this.#entries.push({
          msn: segment.msn,
          duration: segment.duration,
          initId: segment.initId,
          discontinuity,
        });
      } catch (err) {
        this.#failed++;
        this.#log.warn({ err, msn: segment.msn }, 'a recording segment could not be stored');
      }
    });
  }

  /** Writes the VOD playlist once every queued segment is stored; null when nothing was recorded. */
  async finish(): Promise<Recording | null> {
    await this.#queue;
    if (this.#entries.length === 0) return null;
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      `#EXT-X-TARGETDURATION:${Math.max(1, Math.ceil(Math.max(...this.#entries.map((e) => e.duration))))}`,
      '#EXT-X-PLAYLIST-TYPE:VOD',
      '#EXT-X-INDEPENDENT-SEGMENTS',
    ];
    let initId: number | undefined;
    for (const e of this.#entries) {
      if (e.discontinuity && initId !== undefined) lines.push('#EXT-X-DISCONTINUITY');
      if (e.initId !== initId) lines.push(`#EXT-X-MAP:URI="init-${e.initId}.mp4"`);
      initId = e.initId;
      lines.push(`#EXTINF:${e.duration.toFixed(3)},`, `seg-${e.msn}.m4s`);
    }
    lines.push('#EXT-X-ENDLIST', '');
    const key = `${this.#prefix}index.m3u8`;
    await this.#storage.put(key, lines.join('\n'), { contentType: 'application/vnd.apple.mpegurl' });
    const durationSeconds = this.#entries.reduce((sum, e) => sum + e.duration, 0);
    if (this.#failed > 0) this.#log.warn({ failed: this.#failed }, 'the recording has gaps');
    return { key, durationSeconds, segments: this.#entries.length };
  }
}
