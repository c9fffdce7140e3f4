/** Messages between a benchmark and its child processes, over the IPC channel of `fork`. */

/** CPU time of a whole process (every thread), and the process's monotonic clock when it was read. */
export interface CpuSample {
  userUs: number;
  systemUs: number;
  atMs: number;
}

export interface VerifyResult {
  verifies: number;
  wallMs: number;
  cpuUs: number;
  /** Cores busy on the whole machine meanwhile, this process included (NaN off Linux). */
  machineCores: number;
}

export type ChildMessage =
  | { type: 'ready'; url?: string }
  | ({ type: 'cpu' } & CpuSample)
  | ({ type: 'result' } & VerifyResult);

export type ParentMessage = { type: 'cpu' } | { type: 'stop' };

export function cpuSample(): CpuSample {
  const { user, system } = process.cpuUsage();
  return { userUs: user, systemUs: system, atMs: performance.now() };
}

/** CPU seconds spent between two samples, and the wall seconds between them. */
export function cpuBetween(before: CpuSample, after: CpuSample): { cpuSeconds: number; wallSeconds: number } {
  return {
    cpuSeconds: (after.userUs + after.systemUs - before.userUs - before.systemUs) / 1e6,
    wallSeconds: (after.atMs - before.atMs) / 1000,
  };
}
