/** A worker process that runs an endless ffmpeg through the runner and reports its pid; the test kills it. */
import { runProcess } from '../../src/runner.ts';

await runProcess({
  command: 'ffmpeg',
  args: [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-nostats',
    '-progress',
    'pipe:1',
    '-re',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x180:rate=30',
    '-f',
    'null',
    '-',
  ],
  timeoutMs: 120_000,
  onProgress: () => undefined,
  onStart: (pid) => process.stdout.write(`ffmpeg ${pid}\n`),
});
