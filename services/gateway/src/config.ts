import { env } from '@wavecast/kit/config';

/**
 * CATALOG_PLAYBACK_SECRET: 32 bytes in base64, the secret the catalog signs
 * playback URLs with. Without it the gateway refuses signed media paths
 * (public videos still play).
 */
const playbackSecret = env.key32('CATALOG_PLAYBACK_SECRET', { required: false });

export const gatewayConfigSpec = {
  httpHost: env.str('HTTP_HOST', { default: '0.0.0.0' }),
  httpPort: env.int('HTTP_PORT', { default: 8080, min: 0, max: 65535 }),
  /** Public base URL, e.g. https://tv.example.com; used in the OpenAPI servers list. */
  publicUrl: env.optionalStr('WAVECAST_PUBLIC_URL'),
  corsOrigins: env.list('CORS_ORIGINS', { default: ['*'] }),
  bodyLimitBytes: env.int('HTTP_BODY_LIMIT_BYTES', { default: 64 * 1024, min: 1024 }),
  trustProxy: env.bool('HTTP_TRUST_PROXY', { default: false }),
  rateLimitPerMinute: env.int('RATE_LIMIT_PER_MINUTE', { default: 600, min: 0 }),
  authRateLimitPerMinute: env.int('AUTH_RATE_LIMIT_PER_MINUTE', { default: 30, min: 0 }),
  profileCacheSeconds: env.int('PROFILE_CACHE_SECONDS', { default: 60, min: 0 }),
  /** How long a public video listing (GET /v1/videos) is served from the cache; 0 turns it off. */
  listingCacheSeconds: env.int('VIDEO_LIST_CACHE_SECONDS', { default: 5, min: 0, max: 300 }),
  /** Where broadcasters send their stream (OBS "Server"); shown with the stream key. */
  rtmpPublicUrl: env.url('RTMP_PUBLIC_URL', {
    default: 'rtmp://localhost:1935/live',
    protocols: ['rtmp', 'rtmps'],
  }),
  /** When set, the RTMP server callbacks (/v1/hooks/rtmp/…) must carry it as `?secret=`. */
  rtmpHookSecret: env.optionalStr('RTMP_HOOK_SECRET', { secret: true }),
  playbackSecret,
  /**
   * How /media/ delivers VOD: `gateway` streams every object from storage;
   * `s3-presigned` (S3 storage only) serves manifests and redirects segments,
   * posters and sprites to short-lived presigned S3 URLs.
   */
  playbackMode: env.oneOf('PLAYBACK_MODE', ['gateway', 's3-presigned'], { default: 'gateway' }),
  /** Lifetime of the presigned URLs of `s3-presigned` mode. */
  playbackPresignSeconds: env.int('PLAYBACK_PRESIGN_SECONDS', { default: 600, min: 10, max: 604_800 }),
};
