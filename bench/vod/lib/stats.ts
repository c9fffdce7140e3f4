/** Small helpers shared by the VOD benchmarks. */

export function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A positive number from the environment, or `fallback`. */
export function numberEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** `+3.2 %` */
export function percent(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'n/a';
  const value = (ratio - 1) * 100;
  return `${value >= 0 ? '+' : ''}${value.toFixed(1)} %`;
}

export const MiB = 2 ** 20;

/** How long a VOD benchmark may run before it gives up: `BENCH_VOD_MAX_SECONDS`, else `fallback`. */
export const maxSeconds = (fallback: number) => numberEnv('BENCH_VOD_MAX_SECONDS', fallback);
