import { newId } from '@wavecast/kit/ids';
import type { Video } from '../../src/video.model.ts';

/** A READY video as the catalog stores it; `images` adds a poster and a storyboard. */
export function readyVideo(
  visibility: Video['visibility'],
  opts: { id?: string; images?: boolean } = {},
): Video {
  const id = opts.id ?? newId('vid');
  return {
    id,
    ownerId: newId('usr'),
    title: 't',
    description: '',
    tags: [],
    visibility,
    status: 'ready',
    progress: 100,
    failureStage: null,
    failureReason: '',
    durationSeconds: 1,
    renditions: [],
    outputs: {
      hlsKey: `videos/${id}/master.m3u8`,
      dashKey: `videos/${id}/manifest.mpd`,
      posterKey: opts.images ? `videos/${id}/poster.jpg` : null,
      storyboard: opts.images
        ? {
            key: `videos/${id}/storyboard.jpg`,
            columns: 5,
            rows: 5,
            tileWidth: 160,
            tileHeight: 90,
            intervalSeconds: 2,
          }
        : null,
    },
    viewCount: 0,
    createdAt: new Date(),
    updatedAt: new Date(),
    publishedAt: new Date(),
  };
}
