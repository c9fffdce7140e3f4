/**
 * Pins the load generator and the server under test to cores of their own,
 * so that neither takes the other's core when it happens to be idle and the
 * server's throughput measures its own cost per request. Linux with taskset
 * and at least two cores; `BENCH_PIN=0` turns it off.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';

export interface Pinning {
  /** Whether pinning is in force for this run. */
  readonly enabled: boolean;
  /** The core the load generator (this process) runs on. */
  readonly loadCore: number;
  /** The core servers run on. */
  readonly serverCore: number;
  /** Pins every thread of process `pid` to the server core (no-op when disabled). */
  pinServer(pid: number): void;
  /** Lets this process (and what it starts later) run on every core again. */
  release(): void;
}

function taskset(args: string[]): boolean {
  const r = spawnSync('taskset', args, { stdio: 'ignore' });
  return r.status === 0;
}

export function pinCores(): Pinning {
  const cores = os.availableParallelism();
  const wanted = process.env.BENCH_PIN !== '0' && process.platform === 'linux' && cores >= 2;
  const loadCore = 0;
  const serverCore = 1;
  const enabled = wanted && taskset(['-a', '-p', '-c', String(loadCore), String(process.pid)]);
  return {
    enabled,
    loadCore,
    serverCore,
    pinServer(pid) {
      if (!enabled) return;
      if (!taskset(['-a', '-p', '-c', String(serverCore), String(pid)]))
        throw new Error(`could not pin process ${pid} to core ${serverCore}`);
    },
    release() {
      if (enabled) taskset(['-a', '-p', '-c', `0-${cores - 1}`, String(process.pid)]);
    },
  };
}
