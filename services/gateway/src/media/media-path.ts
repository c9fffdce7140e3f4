/**
 * What a /media/ path names. Only the outputs of one video are reachable:
 *
 *   /media/videos/<video id>/<file>                  public videos
 *   /media/t/<exp>.<sig>/videos/<video id>/<file>    signed (unlisted, private)
 *
 * `<file>` is one to four segments of [A-Za-z0-9._-] not starting with a dot.
 * The path is matched before any percent-decoding, so `..`, `%2e%2e`,
 * backslashes and empty segments never reach storage.
 */
export interface MediaPath {
  videoId: string;
  /** The storage key, `videos/<id>/<file>`. */
  key: string;
  /** `<exp>.<sig>` when the path is signed. */
  token: string | undefined;
}

const PATH =
  /^\/media\/(?:t\/([0-9]{1,12}\.[A-Za-z0-9_-]{43})\/)?videos\/(vid_[0-9A-HJKMNP-TV-Z]{26})\/((?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\/){0,3}[A-Za-z0-9_-][A-Za-z0-9._-]{0,127})$/;

/** The media object a request URL names, or undefined (a 404) for anything else. */
export function parseMediaPath(url: string): MediaPath | undefined {
  const path = url.split('?', 1)[0]!;
  const match = PATH.exec(path);
  if (!match) return undefined;
  const [, token, videoId, file] = match;
  return { videoId: videoId!, key: `videos/${videoId}/${file}`, token };
}

export type MediaKind = 'manifest' | 'media' | 'image' | 'text';

const kinds: Record<string, MediaKind> = {
  m3u8: 'manifest',
  mpd: 'manifest',
  m4s: 'media',
  mp4: 'media',
  m4a: 'media',
  ts: 'media',
  jpg: 'image',
  jpeg: 'image',
  png: 'image',
  webp: 'image',
  vtt: 'text',
  json: 'text',
};

/** What an object is by its extension; undefined for files the media route does not serve. */
export function mediaKind(key: string): MediaKind | undefined {
  const dot = key.lastIndexOf('.');
  return dot < 0 ? undefined : kinds[key.slice(dot + 1).toLowerCase()];
}
