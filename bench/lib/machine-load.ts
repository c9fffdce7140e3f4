/**
 * How busy the whole machine was during a measurement (Linux /proc/stat), so
 * a run disturbed by other work on the machine says so instead of passing
 * for a slow platform.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineSample {
  busyTicks: number;
  totalTicks: number;
}

/** Undefined where /proc/stat does not exist. */
export function machineSample(): MachineSample | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal ...
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    const total = ticks.reduce((a, b) => a + b, 0);
    return { busyTicks: total - idle, totalTicks: total };
  } catch {
    return undefined;
  }
}

/** Cores kept busy on the whole machine between two samples (NaN when unknown). */
export function busyCores(before: MachineSample | undefined, after: MachineSample | undefined): number {
  if (!before || !after || after.totalTicks === before.totalTicks) return Number.NaN;
  const share = (after.busyTicks - before.busyTicks) / (after.totalTicks - before.totalTicks);
  return share * os.cpus().length;
}

/** Above this many cores of other work, a measurement is flagged as disturbed. */
export const OTHER_LOAD_WARNING_CORES = 0.25;
