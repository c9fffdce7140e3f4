/** LL-HLS packaging and origin: what the rest of ingest uses. */
export { Fmp4Parser, type Fragment, type InitSegment, type Track } from './fmp4.ts';
export { LiveStream, packageFmp4 } from './live.ts';
export { createHlsOrigin, type HlsOrigin, type OriginOptions, type OriginResponse } from './origin.ts';
export { type CompletedSegment, type PackagerOptions, RenditionPackager } from './packager.ts';
