/**
 * What an ffmpeg needs to (re)start decoding a live FLV stream: the FLV
 * header, the metadata and decoder configuration tags, then media from a
 * keyframe on. Remembers them as they pass, so a restarted ffmpeg gets a
 * valid stream mid-broadcast.
 */
import { type FlvTag, isAudioConfig, isKeyframe, isVideoConfig } from './flv-reader.ts';

export class FlvPrimer {
  header: Buffer | undefined;
  #metadata: FlvTag | undefined;
  #videoConfig: FlvTag | undefined;
  #audioConfig: FlvTag | undefined;

  /** Records configuration tags; returns true for tags that are configuration (not media). */
  observe(tag: FlvTag): boolean {
    if (tag.type === 'script') {
      this.#metadata ??= own(tag);
      return true;
    }
    if (isVideoConfig(tag)) {
      this.#videoConfig = own(tag);
      return true;
    }
    if (isAudioConfig(tag)) {
      this.#audioConfig = own(tag);
      return true;
    }
    return false;
  }

  get videoConfig(): FlvTag | undefined {
    return this.#videoConfig;
  }

  get hasAudio(): boolean {
    return this.#audioConfig !== undefined;
  }

  /** The bytes that start a decodable stream: header, metadata, configurations. */
  prelude(): Buffer {
    if (!this.header) throw new Error('no FLV header yet');
    const parts = [this.header];
    for (const tag of [this.#metadata, this.#videoConfig, this.#audioConfig]) if (tag) parts.push(tag.raw);
    return Buffer.concat(parts);
  }
}

/** A copy of a tag kept for the whole session, so it does not pin the chunk it was read from. */
function own(tag: FlvTag): FlvTag {
  const raw = Buffer.from(tag.raw);
  return { ...tag, raw, data: raw.subarray(raw.length - 4 - tag.data.length, raw.length - 4) };
}

/** Passes media tags on once a keyframe has been seen (used right after a restart). */
export class KeyframeGate {
  #open = false;

  reset(): void {
    this.#open = false;
  }

  admits(tag: FlvTag): boolean {
    if (!this.#open && isKeyframe(tag)) this.#open = true;
    return this.#open;
  }
}
