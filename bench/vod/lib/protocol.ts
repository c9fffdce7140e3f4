/**
 * What the VOD platform child (servers/vod-platform.ts) tells the benchmark
 * beyond bench/lib's messages: where its control server listens, and what it
 * saw on the platform's bus. The control server is a plain HTTP server on
 * 127.0.0.1 inside the child, next to the platform, for what a benchmark
 * needs from inside the process: the moments of the VOD events, publishing
 * events as another service would, and CPU profiles of a measured window.
 */

/** The child's `ready` message: bench/lib's, plus the control server's URL. */
export interface VodReady {
  type: 'ready';
  url: string;
  control: string;
}

/** One event as the child saw it on the bus (group `bench.observer`, fanned out like any other group). */
export interface Observation {
  type: string;
  videoId: string;
  /** When the child's handler ran: epoch ms with fractions (performance.timeOrigin + now()), comparable across processes. */
  atMs: number;
  /** `video.progress.v1`: the percent, and the `at` the encoder stamped when it reached it (epoch ms). */
  percent?: number;
  eventAtMs?: number;
  /** `video.failed.v1`. */
  reason?: string;
  /** The child's own CPU (all its threads) and that of its exited children (ffprobe, ffmpeg) at that moment. */
  cpuSeconds: number;
  childrenCpuSeconds: number;
}

/** An event for the child to publish on the platform's bus, in order. */
export interface PublishRequest {
  events: { type: string; data: unknown }[];
}

export const nowMs = () => performance.timeOrigin + performance.now();
