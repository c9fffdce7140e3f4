/** Validation of the names a publisher sends: the app (connect) and the stream name (publish). */

const MAX_NAME_LENGTH = 128;
/** Visible ASCII: no spaces, no control characters, nothing a log or a path could misread. */
const PRINTABLE = /^[\x21-\x7e]+$/;

function validName(value: string): boolean {
  return value.length > 0 && value.length <= MAX_NAME_LENGTH && PRINTABLE.test(value);
}

/** The path of an `rtmp://host[:port]/path` URL, without the leading slash. */
function tcUrlPath(tcUrl: string): string {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/]*\/(.*)$/i.exec(tcUrl);
  return match?.[1] ?? '';
}

/**
 * The application name: the first path element of connect's `app` (ffmpeg sends
 * `live`, some clients `live/` or `live?x=y`), or of tcUrl when `app` is absent.
 * Undefined when it is not a valid name.
 */
export function appName(app: unknown, tcUrl: unknown): string | undefined {
  const raw = typeof app === 'string' && app !== '' ? app : typeof tcUrl === 'string' ? tcUrlPath(tcUrl) : '';
  const first = raw.replace(/^\/+/, '').split(/[/?]/, 1)[0] ?? '';
  return validName(first) ? first : undefined;
}

/** A publish name: printable, at most 128 characters, no slash. */
export function isValidStreamName(name: unknown): name is string {
  return typeof name === 'string' && validName(name) && !name.includes('/');
}
