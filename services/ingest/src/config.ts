import { env } from '@wavecast/kit/config';

export const ingestConfigSpec = {
  rtmpHost: env.str('RTMP_HOST', { default: '0.0.0.0' }),
  rtmpPort: env.int('RTMP_PORT', { default: 1935, min: 0, max: 65535 }),
  /** Where gateways reach this node's HLS origin (also its identity in the live directory). */
  originUrl: env.url('INGEST_ORIGIN_URL', { default: 'http://127.0.0.1:8081', protocols: ['http', 'https'] }),
  originPort: env.int('INGEST_ORIGIN_PORT', { default: 8081, min: 0, max: 65535 }),
  ladder: env.str('LIVE_LADDER', { default: '720:2800,480:1400,360:800' }),
  passthroughOnly: env.bool('LIVE_PASSTHROUGH_ONLY', { default: false }),
  segmentSeconds: env.int('LIVE_SEGMENT_SECONDS', { default: 1, min: 1, max: 10 }),
  partMs: env.int('LIVE_PART_MS', { default: 250, min: 100, max: 1000 }),
  dvrSeconds: env.int('LIVE_DVR_SECONDS', { default: 120, min: 10, max: 3600 }),
  publisherGraceSeconds: env.int('LIVE_RECONNECT_GRACE_SECONDS', { default: 10, min: 0, max: 300 }),
  idleTimeoutSeconds: env.int('LIVE_IDLE_TIMEOUT_SECONDS', { default: 10, min: 1, max: 120 }),
  ffmpegPath: env.str('FFMPEG_PATH', { default: 'ffmpeg' }),
  x264Preset: env.oneOf(
    'LIVE_X264_PRESET',
    ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'] as const,
    { default: 'veryfast' },
  ),
  record: env.bool('LIVE_RECORD', { default: true }),
  thumbnailSeconds: env.int('LIVE_THUMBNAIL_SECONDS', { default: 10, min: 1, max: 600 }),
};
