/**
 * One live session on this node: the publisher's connection (which may drop
 * and come back within the grace), its transcoder, the packaged renditions
 * the origin serves, the recording and the thumbnail.
 */
import type { Logger } from '@wavecast/kit/log';
import type { Storage } from '@wavecast/kit/storage';
import { type CompletedSegment, LiveStream, type PackagerOptions, packageFmp4 } from './hls/index.ts';
import { Recorder, type Recording } from './recording.ts';
import type { PublishSession } from './rtmp/types.ts';
import { Thumbnailer } from './thumbnails.ts';
import type { Rendition, Rung } from './transcode/ladder.ts';
import { LiveTranscoder, type TranscoderOutputs } from './transcode/supervisor.ts';

const THUMBNAIL_HEIGHT = 360;

export interface LiveChannelSettings {
  ffmpegPath: string;
  ladder: Rung[];
  passthroughOnly: boolean;
  segmentSeconds: number;
  partMs: number;
  dvrSeconds: number;
  preset: string;
  record: boolean;
  thumbnailSeconds: number;
}

export class LiveChannel {
  readonly name: string;
  readonly channelId: string;
  readonly sessionId: string;
  readonly thumbnails: Thumbnailer;
  stream: LiveStream | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  readonly #settings: LiveChannelSettings;
  readonly #log: Logger;
  readonly #recorder: Recorder | undefined;
  readonly #publish: (name: string, stream: LiveStream) => void;
  #publisher: PublishSession | undefined;
  #transcoder: LiveTranscoder | undefined;
  #layout = '';

  constructor(opts: {
    name: string;
    channelId: string;
    sessionId: string;
    settings: LiveChannelSettings;
    storage: Storage;
    log: Logger;
    /** Makes a (new) stream visible to the origin under the channel's name. */
    publish: (name: string, stream: LiveStream) => void;
  }) {
    this.name = opts.name;
    this.channelId = opts.channelId;
    this.sessionId = opts.sessionId;
    this.#settings = opts.settings;
    this.#log = opts.log;
    this.#publish = opts.publish;
    this.#recorder = opts.settings.record ? new Recorder(opts.storage, opts.sessionId, opts.log) : undefined;
    this.thumbnails = new Thumbnailer(opts.log);
  }

  get publisher(): PublishSession | undefined {
    return this.#publisher;
  }

  /** Starts (or, after a reconnect, resumes) the broadcast from this publisher. */
  attach(publisher: PublishSession): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.#publisher = publisher;
    const s = this.#settings;
    const transcoder = new LiveTranscoder({
      ffmpegPath: s.ffmpegPath,
      ladder: s.ladder,
      passthroughOnly: s.passthroughOnly,
      segmentSeconds: s.segmentSeconds,
      partMs: s.partMs,
      preset: s.preset,
      logger: this.#log,
      thumbnail: { seconds: s.thumbnailSeconds, height: THUMBNAIL_HEIGHT },
    });
    this.#transcoder = transcoder;
    transcoder.on('outputs', (outputs: TranscoderOutputs) => this.#feed(outputs));
    transcoder.start(publisher.flv);
  }

  /** The publisher is gone: stop its transcoder; the stream stays until the session ends. */
  async detach(): Promise<void> {
    this.#publisher = undefined;
    const transcoder = this.#transcoder;
    this.#transcoder = undefined;
    await transcoder?.stop();
  }

  /** Ends the broadcast: players get ENDLIST, the recording is finalised. */
  async end(): Promise<Recording | null> {
    clearTimeout(this.graceTimer);
    this.#publisher?.close('session ended');
    await this.detach();
    this.stream?.end();
    return (await this.#recorder?.finish()) ?? null;
  }

  #packagerOptions(r: Rendition): PackagerOptions {
    const s = this.#settings;
    const options: PackagerOptions = {
      segmentDuration: s.segmentSeconds,
      partDuration: s.partMs / 1000,
      windowSeconds: s.dvrSeconds,
      log: this.#log,
    };
    if (r.kind === 'transcode') {
      options.keyframeInterval = s.segmentSeconds;
      options.bandwidth = (r.videoKbps + 128) * 1000;
    } else {
      if (this.#recorder) {
        const recorder = this.#recorder;
        options.onSegment = (segment: CompletedSegment) => recorder.add(segment);
      }
    }
    return options;
  }

  #feed(outputs: TranscoderOutputs): void {
    if (outputs.thumbnails) this.thumbnails.follow(outputs.thumbnails);
    const layout = outputs.renditions.map((r) => r.name).join(',');
    if (!this.stream || layout !== this.#layout) {
      // First start, or a reconnect with another picture size: a new set of renditions.
      this.stream?.end();
      this.#layout = layout;
      this.stream = new LiveStream(
        Object.fromEntries(outputs.renditions.map((r) => [r.name, this.#packagerOptions(r)])),
      );
      this.#publish(this.name, this.stream);
    }
    const stream = this.stream;
    outputs.renditions.forEach((r, i) => {
      const source = outputs.streams[i]!;
      // A new init after media makes the packager mark a discontinuity by itself.
      packageFmp4(source, stream.rendition(r.name), this.#log).catch((err) => {
        this.#log.warn({ err, rendition: r.name }, 'ffmpeg output could not be packaged; restarting ffmpeg');
        source.destroy();
        this.#transcoder?.kill();
      });
    });
  }
}
