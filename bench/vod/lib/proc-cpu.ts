/**
 * CPU time of processes from /proc (Linux), including the time of their
 * children that have exited and been waited for. ffmpeg and ffprobe are
 * children: the benchmark's own (the baselines) and the platform's (its
 * encoder runs ffmpeg under a /bin/sh watchdog that waits for it, and the
 * child waits for the watchdog, so ffmpeg's time reaches the child's
 * "children" figure when each run ends). `process.cpuUsage()` sees none of it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { busyCores, type MachineSample, machineSample } from '../../lib/machine-load.ts';

let ticksPerSecond: number | undefined;
function hz(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export interface ProcCpu {
  /** The process's own user + system CPU seconds. */
  selfSeconds: number;
  /** User + system CPU seconds of its children that exited and were waited for. */
  childrenSeconds: number;
}

/** Undefined when /proc is missing or the process is gone. */
export function procCpu(pid: number | 'self'): ProcCpu | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after it are fixed.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime 14, stime 15, cutime 16, cstime 17.
    const at = (field: number) => Number(fields[field - 3] ?? 0);
    return {
      selfSeconds: (at(14) + at(15)) / hz(),
      childrenSeconds: (at(16) + at(17)) / hz(),
    };
  } catch {
    return undefined;
  }
}

export interface CpuWindowResult {
  wallSeconds: number;
  /** CPU seconds of this process and of the given ones, their exited children included. */
  ownCpuSeconds: number;
  /** Cores the whole machine kept busy (NaN off Linux). */
  machineCores: number;
  /** Cores other processes kept busy: the machine minus ours (NaN off Linux). */
  otherCores: number;
}

/**
 * Brackets a measurement: how much CPU our processes used and how busy the
 * rest of the machine was meanwhile. `pids` are our child processes that
 * stay alive through the window (one that exits inside it would be counted
 * twice: on its own and in our children's time).
 */
export function cpuWindow(pids: number[] = []): { end(): CpuWindowResult } {
  const sum = (): number => {
    let total = 0;
    for (const pid of ['self' as const, ...pids]) {
      const cpu = procCpu(pid);
      total += cpu ? cpu.selfSeconds + cpu.childrenSeconds : 0;
    }
    return total;
  };
  const startedAt = performance.now();
  const machineBefore: MachineSample | undefined = machineSample();
  const ownBefore = sum();
  return {
    end() {
      const ownCpuSeconds = sum() - ownBefore;
      const machineCores = busyCores(machineBefore, machineSample());
      const wallSeconds = (performance.now() - startedAt) / 1000;
      return {
        wallSeconds,
        ownCpuSeconds,
        machineCores,
        otherCores: Math.max(0, machineCores - ownCpuSeconds / wallSeconds),
      };
    },
  };
}
