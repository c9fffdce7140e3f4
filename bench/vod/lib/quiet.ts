/**
 * On a shared machine, waits (a bounded time) for other processes to calm
 * down before a measurement, and says so when they did not. The waiting
 * itself is never measured; the "other cores" of each measurement is what
 * tells whether it was disturbed.
 */
import { log, num } from '../../lib/report.ts';
import { cpuWindow } from './proc-cpu.ts';

const seconds = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
};

/** `BENCH_VOD_QUIET_SECONDS` (default 60; 0 = never wait), `BENCH_VOD_QUIET_CORES` (default 0.3). */
export const quietSettings = () => ({
  maxSeconds: seconds('BENCH_VOD_QUIET_SECONDS', 60),
  cores: seconds('BENCH_VOD_QUIET_CORES', 0.3),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once other processes kept fewer than `cores` cores busy over a
 * 2-second window, or after `maxSeconds` anyway; returns the last window's
 * figure. `pids`: our idle child processes, not counted as others.
 */
export async function waitForQuiet(label: string, pids: number[] = []): Promise<number> {
  const { maxSeconds, cores } = quietSettings();
  if (maxSeconds === 0) return Number.NaN;
  const deadline = performance.now() + maxSeconds * 1000;
  let other = Number.NaN;
  let waited = false;
  for (;;) {
    const window = cpuWindow(pids);
    await sleep(2_000);
    other = window.end().otherCores;
    if (!(other >= cores) || performance.now() >= deadline) break;
    if (!waited)
      log(`${label}: waiting for the machine to calm down (other processes: ${num(other, 2)} cores)`);
    waited = true;
  }
  if (waited) {
    log(
      other >= cores
        ? `${label}: still ${num(other, 2)} cores busy after ${maxSeconds} s; measuring anyway`
        : `${label}: quiet now (${num(other, 2)} cores)`,
    );
  }
  return other;
}
