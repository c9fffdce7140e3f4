/**
 * `video.progress.v1` every 5 percent. Publishing never holds up ffmpeg (it
 * runs in the background, in order) and its failures are only logged:
 * progress is a courtesy, the outcome events are what count.
 */
import type { EventSchemas } from '@wavecast/contracts/events';
import type { EventBus } from '@wavecast/kit/events';
import type { Logger } from '@wavecast/kit/log';

const STEP = 5;

export interface ProgressReporter {
  /** Publishes when `percent` reaches a new step (0, 5, 10, …, 100). */
  report(percent: number): void;
  /** Resolves once every report so far is published (or has failed). */
  flush(): Promise<void>;
}

export function createProgress(
  events: EventBus<EventSchemas>,
  videoId: string,
  attempt: number,
  logger: Logger,
): ProgressReporter {
  let last = -1;
  let chain = Promise.resolve();
  return {
    report(percent) {
      const step = Math.min(100, Math.floor(percent / STEP) * STEP);
      if (step <= last) return;
      last = step;
      const at = new Date().toISOString();
      chain = chain
        .then(() => events.publish('video.progress.v1', { video_id: videoId, percent: step, attempt, at }))
        .catch((err: unknown) => logger.warn({ err, percent: step }, 'could not publish progress'));
    },
    flush: () => chain,
  };
}
