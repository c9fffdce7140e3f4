import { stopAll } from './children.ts';
import { log } from './report.ts';

/** Runs a benchmark as a program: a failure is printed and sets a non-zero exit code; children always stop. */
export async function runMain(bench: () => Promise<unknown>): Promise<void> {
  try {
    await bench();
  } catch (err) {
    log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  } finally {
    await stopAll();
  }
}
