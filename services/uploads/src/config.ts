import { env } from '@wavecast/kit/config';

export const GIB = 1024 ** 3;

/**
 * Settings of the uploads service wherever it runs (its own process or the
 * all-in-one one). `CORS_ORIGINS` is the gateway's variable: browsers reach
 * both through the same origin rules.
 */
export const uploadsConfigSpec = {
  /** The largest file accepted, from `Upload-Length` (or the presigned size); never stored past it. */
  maxBytes: env.int('UPLOADS_MAX_BYTES', { default: 10 * GIB, min: 1 }),
  ffprobePath: env.str('FFPROBE_PATH', { default: 'ffprobe' }),
  /** Lifetime of presigned PUT URLs (S3 storage), and of the GET URLs ffprobe reads through. */
  presignSeconds: env.int('UPLOADS_PRESIGN_SECONDS', { default: 900, min: 60, max: 7 * 24 * 3600 }),
  /** Unfinished tus uploads are removed this long after they began; 0 keeps them. */
  incompleteTtlHours: env.int('UPLOADS_INCOMPLETE_TTL_HOURS', { default: 168, min: 0 }),
  corsOrigins: env.list('CORS_ORIGINS', { default: ['*'] }),
};
