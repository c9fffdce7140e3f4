/**
 * Why an encode failed, in words the video's owner understands
 * (`video.failed.v1.reason`), and whether retrying can help.
 */
import { RunError } from './runner.ts';

/** Retrying cannot help (the source is gone, or has nothing to play): fail at once. */
export class PermanentFailure extends Error {
  override readonly name = 'PermanentFailure';
}

/** The job was stopped by a shutdown: not the video's fault, so it is retried and never reported. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

/** ffmpeg failing on this machine rather than on the video. */
const environmental =
  /No space left on device|Permission denied|No such file or directory|Cannot allocate memory/;

/** Lines that only repeat that something failed. */
const noise = [/^Conversion failed!?$/, /^Exiting normally/];

/**
 * The first line of ffmpeg's stderr (run with `-loglevel error`) that says
 * something, without the `[mov,mp4,… @ 0x…]` context and with the temporary
 * input path taken out.
 */
export function firstRelevantLine(stderr: string, inputPath: string): string | undefined {
  for (const raw of stderr.split('\n')) {
    const line = raw
      .replace(/^\[[^\]]* @ 0x[0-9a-f]+\]\s*/, '')
      .replaceAll(`${inputPath}: `, '')
      .replaceAll(inputPath, 'the file')
      .trim();
    if (line !== '' && !noise.some((n) => n.test(line)))
      return line.length > 300 ? `${line.slice(0, 300)}…` : line;
  }
  return undefined;
}

export function failureReason(err: unknown, inputPath: string): string {
  if (err instanceof PermanentFailure) return err.message;
  if (err instanceof RunError) {
    switch (err.kind) {
      case 'exit':
        // 127: ffmpeg is missing here, which says nothing about the video.
        if (err.exitCode === 127 || environmental.test(err.stderr)) break;
        return `the video could not be decoded: ${firstRelevantLine(err.stderr, inputPath) ?? err.message}`;
      case 'timeout':
        return 'encoding took too long and was stopped';
      case 'stall':
        return 'encoding stopped making progress and was stopped';
      case 'aborted':
        break;
    }
  }
  return 'the video could not be encoded because of an internal error';
}
