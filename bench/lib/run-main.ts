import { stopAll } from './children.ts';
import { log } from './report.ts';

/**
 * Runs a benchmark as a program: a failure is printed and sets a non-zero exit code; children always stop.
 * With `maxSeconds`, a run still going after that long is given up: its children are stopped and it exits with 124.
 */
export async function runMain(
  bench: () => Promise<unknown>,
  opts: { maxSeconds?: number } = {},
): Promise<void> {
  const deadline =
    opts.maxSeconds === undefined
      ? undefined
      : setTimeout(() => {
          log(`bench: still running after ${opts.maxSeconds} s; giving up`);
          void stopAll().finally(() => process.exit(124));
        }, opts.maxSeconds * 1000);
  try {
    await bench();
  } catch (err) {
    log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  } finally {
    clearTimeout(deadline);
    await stopAll();
  }
}
