import { eventSchemas } from '@wavecast/contracts/events';
import type { Bus, Subscription } from '@wavecast/kit/bus';
import { typedEvents } from '@wavecast/kit/events';
import type { VideoPipeline } from './pipeline.ts';

/** Event handlers of the catalog service (group `catalog`). Each is idempotent and ignores late events. */
export function subscribeCatalogEvents(bus: Bus, pipeline: VideoPipeline): Promise<Subscription> {
  return typedEvents(bus, eventSchemas).subscribe('catalog', {
    'video.uploaded.v1': (event) => pipeline.onUploaded(event),
    'video.progress.v1': (event) => pipeline.onProgress(event),
    'video.encoded.v1': (event) => pipeline.onEncoded(event),
    'video.failed.v1': (event) => pipeline.onFailed(event),
  });
}
