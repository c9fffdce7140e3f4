/**
 * A live stream as the origin serves it: named renditions, each packaged
 * from the fMP4 ffmpeg writes for it.
 */
import { AppError } from '@wavecast/kit/errors';
import type { Logger } from '@wavecast/kit/log';
import { Fmp4Parser } from './fmp4.ts';
import { type PackagerOptions, RenditionPackager } from './packager.ts';

/** Rendition names appear in URLs: letters, digits, `-` and `_`. */
export const renditionName = /^[A-Za-z0-9_-]{1,32}$/;

export class LiveStream {
  /** In master playlist order (the first is where players without other preference start). */
  readonly renditions: ReadonlyMap<string, RenditionPackager>;

  /** `renditions`: name → options (`shared` applies to all, each entry overrides). */
  constructor(renditions: Record<string, PackagerOptions>, shared: PackagerOptions = {}) {
    const map = new Map<string, RenditionPackager>();
    for (const [name, options] of Object.entries(renditions)) {
      if (!renditionName.test(name)) {
        throw new AppError('invalid_argument', `invalid rendition name ${JSON.stringify(name)}`);
      }
      map.set(name, new RenditionPackager({ ...shared, ...options }));
    }
    this.renditions = map;
  }

  rendition(name: string): RenditionPackager {
    const packager = this.renditions.get(name);
    if (!packager) throw new AppError('not_found', `no rendition ${JSON.stringify(name)}`);
    return packager;
  }

  /**
   * The input that the next timeline's media time 0 stands for reached the ingest at `wallMs`
   * (see `RenditionPackager.anchorInput`): program date-time then tells capture time.
   */
  anchorInput(wallMs: number): void {
    for (const packager of this.renditions.values()) packager.anchorInput(wallMs);
  }

  /** Every rendition restarts (the publisher reconnected). */
  discontinuity(): void {
    for (const packager of this.renditions.values()) packager.discontinuity();
  }

  end(): void {
    for (const packager of this.renditions.values()) packager.end();
  }
}

/**
 * Packages an fMP4 byte stream (an ffmpeg process's stdout) until it ends.
 * Rejects when the bytes cannot be framed any more, so the caller restarts
 * ffmpeg; call `packager.discontinuity()` before feeding the new process.
 */
export async function packageFmp4(
  source: AsyncIterable<Uint8Array>,
  packager: RenditionPackager,
  log?: Logger,
): Promise<void> {
  let fatal: AppError | undefined;
  const parser = new Fmp4Parser({
    init: (init) => packager.addInit(init),
    fragment: (fragment) => packager.addFragment(fragment),
    error: (err, isFatal) => {
      if (isFatal) fatal = err;
      else log?.warn({ err }, 'fMP4 box skipped');
    },
  });
  for await (const chunk of source) {
    parser.push(chunk);
    if (fatal) throw fatal;
  }
}
