/**
 * Child processes of the live benchmarks, and how they always end.
 *
 * Every process is spawned in its own process group (`detached`), so that
 * stopping it also stops what it started (the platform's ffmpegs, nginx's
 * workers) and nothing else: we only ever signal the groups of pids we
 * spawned ourselves. On every exit path (normal end, error, the deadline,
 * SIGINT/SIGTERM/SIGHUP) every group still alive gets SIGTERM, then SIGKILL.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { busyCores, machineSample } from '../../lib/machine-load.ts';
import { num, table } from '../../lib/report.ts';

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** The last ~4 KB of its stderr (when piped), for error messages. */
  stderrTail(): string;
  /** SIGTERM to its group (or `signal`), SIGKILL to the group after `graceMs`; resolves when it exited. */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<Proc>();
const cleanups = new Set<() => Promise<void> | void>();

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Spawns `command` in its own process group and tracks it until it exits. */
export function start(
  name: string,
  command: string,
  args: string[],
  opts: SpawnOptions & { keepStderr?: boolean } = {},
): Proc {
  const { keepStderr = true, ...spawnOpts } = opts;
  const child = spawn(command, args, {
    stdio: ['ignore', 'ignore', keepStderr ? 'pipe' : 'ignore'],
    ...spawnOpts,
    detached: true,
  });
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4_000);
  });
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? -1);
    });
    child.once('error', (err) => {
      done = true;
      tail += `\nspawn failed: ${err.message}`;
      resolve(-1);
    });
  });
  const pid = child.pid ?? -1;
  const proc: Proc = {
    name,
    pid,
    child,
    exited,
    stderrTail: () => tail,
    async stop(graceMs = 3_000, signal = 'SIGTERM') {
      if (!done && pid > 0) {
        signalGroup(pid, signal);
        const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // Whatever the leader left behind in its group.
      if (pid > 0) signalGroup(pid, 'SIGKILL');
      live.delete(proc);
    },
  };
  if (pid > 0) live.add(proc);
  void exited.then(() => {
    if (pid > 0) signalGroup(pid, 'SIGKILL'); // orphans of a leader that died
    live.delete(proc);
  });
  return proc;
}

/** Something to release on every exit path (a browser, a server, a temporary directory). */
export function onCleanup(fn: () => Promise<void> | void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

let cleaning: Promise<void> | undefined;

/** Stops every tracked process and runs the cleanups (each bounded in time). */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    const bounded = (p: Promise<unknown>, ms: number) =>
      Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]);
    await bounded(Promise.all([...cleanups].map(async (fn) => fn())), 8_000);
    await bounded(Promise.all([...live].map((p) => p.stop(2_000))), 5_000);
    for (const p of live) signalGroup(p.pid, 'SIGKILL');
  })();
  return cleaning;
}

process.once('exit', () => {
  for (const p of live) signalGroup(p.pid, 'SIGKILL');
});

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping ${live.size} child process group(s)`);
    void cleanupAll().finally(() => process.exit(code));
  });
}

/**
 * Runs a benchmark as a program, bounded by `maxSeconds`: a failure or the
 * deadline prints why and exits non-zero; every child stops on every path.
 */
export function runBench(name: string, maxSeconds: number, main: () => Promise<void>): void {
  const deadline = setTimeout(() => {
    log(`${name}: still running after ${maxSeconds} s; giving up`);
    void cleanupAll().finally(() => process.exit(124));
  }, maxSeconds * 1000);
  main()
    .catch((err) => {
      log(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exitCode = 1;
    })
    .finally(async () => {
      clearTimeout(deadline);
      await cleanupAll();
      // Anything left holding the event loop (sockets of a finished client) must not keep us here.
      setTimeout(() => process.exit(), 500).unref();
    });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `fn` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 250,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(everyMs);
  }
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface StatLine {
  pid: number;
  ppid: number;
  /** utime + stime, in ticks. */
  own: number;
  /** cutime + cstime: children that exited and were reaped, in ticks. */
  reaped: number;
  comm: string;
}

function readStat(pid: number): StatLine | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const f = text
      .slice(close + 2)
      .split(' ')
      .map(Number);
    // f[0] = state (NaN), f[1] = ppid, f[11..14] = utime stime cutime cstime
    return {
      pid,
      ppid: f[1] ?? 0,
      own: (f[11] ?? 0) + (f[12] ?? 0),
      reaped: (f[13] ?? 0) + (f[14] ?? 0),
      comm,
    };
  } catch {
    return undefined;
  }
}

function allStats(): StatLine[] {
  const out: StatLine[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = readStat(Number(entry));
    if (s) out.push(s);
  }
  return out;
}

export interface TreeCpu {
  /** CPU seconds of the roots and every descendant, alive or reaped, since they started. */
  total: number;
  /** The same split by command name (`node`, `ffmpeg`, `nginx`…); reaped children count for their parent's name. */
  byComm: Record<string, number>;
  processes: number;
}

/**
 * CPU seconds spent so far by the process trees under `roots`: each process's
 * own time plus its reaped children's. The difference of two samples is the
 * CPU the trees spent in between, exited children included.
 */
export function treeCpu(roots: number[]): TreeCpu {
  const stats = allStats();
  const children = new Map<number, StatLine[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const byComm: Record<string, number> = {};
  let total = 0;
  let processes = 0;
  const seen = new Set<number>();
  const visit = (s: StatLine) => {
    if (seen.has(s.pid)) return;
    seen.add(s.pid);
    processes++;
    const own = s.own / TICKS_PER_SECOND;
    const reaped = s.reaped / TICKS_PER_SECOND;
    total += own + reaped;
    byComm[s.comm] = (byComm[s.comm] ?? 0) + own;
    if (reaped > 0) byComm[`${s.comm}:reaped children`] = (byComm[`${s.comm}:reaped children`] ?? 0) + reaped;
    for (const c of children.get(s.pid) ?? []) visit(c);
  };
  for (const pid of roots) {
    const s = byPid.get(pid);
    if (s) visit(s);
  }
  return { total, byComm, processes };
}

export function cpuDelta(before: TreeCpu, after: TreeCpu): TreeCpu {
  const byComm: Record<string, number> = {};
  for (const key of new Set([...Object.keys(before.byComm), ...Object.keys(after.byComm)])) {
    byComm[key] = (after.byComm[key] ?? 0) - (before.byComm[key] ?? 0);
  }
  return { total: after.total - before.total, byComm, processes: after.processes };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export { num as fmt, table };

/** Cores kept busy by processes other than this one and its descendants, over `seconds`. */
export async function otherLoad(seconds: number): Promise<number> {
  const m0 = machineSample();
  const mine0 = treeCpu([process.pid]).total;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  const mine = (treeCpu([process.pid]).total - mine0) / wall;
  return Math.max(0, busyCores(m0, machineSample()) - mine);
}

/**
 * The machine is shared (CI, other people's tests): waits, up to `maxSeconds`, until other
 * processes keep fewer than `belowCores` busy for a few seconds. Returns their load when it stopped
 * waiting, so a disturbed measurement can say so.
 */
export async function awaitQuietMachine(
  label: string,
  maxSeconds: number,
  belowCores = 0.3,
): Promise<number> {
  const end = Date.now() + maxSeconds * 1000;
  let load = await otherLoad(2);
  let told = false;
  while (load >= belowCores && Date.now() < end) {
    if (!told)
      log(`${label}: other processes keep ${num(load, 2)} cores busy; waiting up to ${maxSeconds} s`);
    told = true;
    load = await otherLoad(3);
  }
  if (load >= belowCores) log(`${label}: still ${num(load, 2)} cores of other load; measuring anyway`);
  return load;
}
