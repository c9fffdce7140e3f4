/**
 * Parent side of the benchmark child processes: servers and baselines run in
 * their own processes (so the load generator never shares their event loop)
 * and talk to the benchmark over the IPC channel. Every child is tracked and
 * ended on every exit path of the benchmark: normal end, error, Ctrl-C.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, CpuSample } from './protocol.ts';

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** The first message of this type from now on; rejects if the child exits first. */
  message<T extends ChildMessage['type']>(
    type: T,
    timeoutMs?: number,
  ): Promise<Extract<ChildMessage, { type: T }>>;
  /** The child's own CPU time (all threads) and clock, asked over IPC. */
  cpu(): Promise<CpuSample>;
  /** Asks the child to close, then kills it if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
/** Pids of the children that lead a process group of their own. */
const groups = new Set<number>();

/** Signals the process group `pid` leads (only groups of children started here). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM/SIGKILL to the child, and to its whole group when it leads one. */
function kill(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid && groups.has(proc.pid)) signalGroup(proc.pid, signal);
  else proc.kill(signal);
}

/** `BENCH_CPU_PROF=1`: each child writes a V8 CPU profile into bench/results/profiles/ when it exits. */
function profileArgs(name: string): string[] {
  if (!process.env.BENCH_CPU_PROF) return [];
  const dir = fileURLToPath(new URL('../results/profiles/', import.meta.url));
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`];
}

/** `BENCH_NODE_ARGS="--perf-basic-prof"`: extra Node flags for every child (e.g. for `perf record`). */
function extraNodeArgs(): string[] {
  return process.env.BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
}

export interface ChildOptions {
  /**
   * Start the child in a process group of its own (`detached`): stopping it
   * then signals the whole group, so whatever it started goes with it, and a
   * terminal's Ctrl-C reaches it only through this process.
   */
  processGroup?: boolean;
}

/** Starts `script` (a .ts file) on this Node with an IPC channel and waits for its `ready` message. */
export async function startChild(
  name: string,
  script: URL,
  env: Record<string, string> = {},
  opts: ChildOptions = {},
): Promise<Child & { ready: Extract<ChildMessage, { type: 'ready' }> }> {
  const proc = fork(script, [], {
    env: { ...process.env, ...env },
    execArgv: ['--disable-warning=ExperimentalWarning', ...profileArgs(name), ...extraNodeArgs()],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    detached: opts.processGroup === true,
  });
  if (opts.processGroup && proc.pid) groups.add(proc.pid);
  live.add(proc);
  // A failed spawn or a send on a closed channel; the exit that follows rejects whoever waits.
  proc.on('error', (err) => process.stderr.write(`bench: ${name}: ${err.message}\n`));
  let exited = false;
  proc.once('exit', () => {
    exited = true;
    live.delete(proc);
    // What the child left behind in its group goes with it.
    if (proc.pid && groups.delete(proc.pid)) signalGroup(proc.pid, 'SIGKILL');
  });

  const message: Child['message'] = (type, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const onMessage = (m: ChildMessage) => {
        if (m.type !== type) return;
        done();
        resolve(m as never);
      };
      const onExit = (code: number | null, signal: string | null) => {
        done();
        reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before sending "${type}"`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${name} sent no "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        proc.off('message', onMessage);
        proc.off('exit', onExit);
      };
      if (exited) return onExit(proc.exitCode, proc.signalCode);
      proc.on('message', onMessage);
      proc.once('exit', onExit);
    });

  const child: Child = {
    name,
    pid: proc.pid ?? -1,
    message,
    async cpu() {
      if (!proc.connected) throw new Error(`${name} is not running`);
      const reply = message('cpu', 10_000);
      proc.send({ type: 'cpu' });
      const { type: _, ...sample } = await reply;
      return sample;
    },
    stop: (graceMs = 5_000) => stopProcess(proc, graceMs),
  };
  const ready = await message('ready').catch(async (err) => {
    await child.stop(1_000);
    throw err;
  });
  return { ...child, ready };
}

async function stopProcess(proc: ChildProcess, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  if (proc.connected) proc.send({ type: 'stop' });
  else kill(proc, 'SIGTERM');
  const timer = setTimeout(() => kill(proc, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Stops every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((proc) => stopProcess(proc, 3_000)));
}

// Last resort on a synchronous exit (an uncaught error, process.exit): children
// also exit by themselves when the IPC channel closes, this just makes it prompt.
process.once('exit', () => {
  for (const proc of live) kill(proc, 'SIGTERM');
});

/**
 * Ctrl-C and termination: stop the children, then exit with the signal's code.
 * (The terminal sends SIGINT to the children too; they close on it by themselves.)
 */
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping ${live.size} child process(es)\n`);
    void stopAll().finally(() => process.exit(code));
  });
}
