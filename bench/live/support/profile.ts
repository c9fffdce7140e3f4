/**
 * A V8 CPU profile of a running Node process for a few seconds, over its
 * inspector (the process must have been started with --inspect=127.0.0.1:0;
 * the address is read from its stderr), and the functions that took the
 * most self time.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

/** The inspector's WebSocket URL from the "Debugger listening on ws://…" line. */
export function inspectorUrl(stderr: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
}

export async function profileFor(wsUrl: string, seconds: number): Promise<CpuProfile> {
  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot connect to ${wsUrl}`)), { once: true });
  });
  let id = 0;
  const pending = new Map<number, (result: any) => void>();
  ws.addEventListener('message', (event) => {
    const msg = JSON.parse(String(event.data));
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<any>((resolve, reject) => {
      const n = ++id;
      const timer = setTimeout(() => reject(new Error(`${method}: no answer`)), 30_000);
      pending.set(n, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  try {
    await send('Profiler.enable');
    await send('Profiler.setSamplingInterval', { interval: 1000 });
    await send('Profiler.start');
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const { profile } = await send('Profiler.stop');
    await send('Profiler.disable');
    return profile as CpuProfile;
  } finally {
    ws.close();
  }
}

/**
 * Total (inclusive) time of the project's own functions (files under services/, packages/, apps/),
 * highest first: which of our code paths the self time of builtins (Buffer, fs, spawn) belongs to.
 */
export function hotOwnFunctions(profile: CpuProfile, top = 15): { total: number; rows: HotFunction[] } {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const inclusive = new Map<string, HotFunction>();
  for (let i = 0; i < samples.length; i++) {
    const ms = (deltas[i] ?? 0) / 1000;
    const seen = new Set<string>();
    for (let id: number | undefined = samples[i]; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      const m = /\/((?:services|packages|apps)\/.*)$/.exec(f.url);
      if (!m || m[1]!.includes('node_modules')) continue;
      const name = f.functionName || '(anonymous)';
      const where = `${m[1]}:${f.lineNumber + 1}`;
      const key = `${name} ${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const row = inclusive.get(key) ?? { name, where, selfMs: 0, share: 0 };
      row.selfMs += ms;
      inclusive.set(key, row);
    }
  }
  const total = (profile.endTime - profile.startTime) / 1000;
  const rows = [...inclusive.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const r of rows) r.share = r.selfMs / total;
  return { total, rows };
}

/**
 * Self time charged to the nearest Wavecast function on the stack (files under services/, packages/,
 * apps/): builtins (Buffer.concat, spawn, stream writes) count for the project code that called them.
 * Idle, GC and program time are left out (they are in `hotFunctions`).
 */
export function selfByOwnCaller(profile: CpuProfile, top = 15): { total: number; rows: HotFunction[] } {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const rows = new Map<string, HotFunction>();
  for (let i = 0; i < samples.length; i++) {
    const ms = (deltas[i] ?? 0) / 1000;
    const leaf = byId.get(samples[i]!)!.callFrame.functionName;
    if (leaf === '(idle)' || leaf === '(garbage collector)' || leaf === '(program)') continue;
    let name = '(no Wavecast frame: Node internals, libraries)';
    let where = '';
    for (let id: number | undefined = samples[i]; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      const m = /\/((?:services|packages|apps)\/.*)$/.exec(f.url);
      if (!m || m[1]!.includes('node_modules')) continue;
      name = f.functionName || '(anonymous)';
      where = `${m[1]}:${f.lineNumber + 1}`;
      break;
    }
    const key = `${name} ${where}`;
    const row = rows.get(key) ?? { name, where, selfMs: 0, share: 0 };
    row.selfMs += ms;
    rows.set(key, row);
  }
  const total = (profile.endTime - profile.startTime) / 1000;
  const sorted = [...rows.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const r of sorted) r.share = r.selfMs / total;
  return { total, rows: sorted };
}

/** Self time per function (name + file:line), highest first. */
export function hotFunctions(profile: CpuProfile, top = 10): { total: number; rows: HotFunction[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0) / 1000);
  }
  const total = (profile.endTime - profile.startTime) / 1000;
  const merged = new Map<string, HotFunction>();
  for (const [id, ms] of self) {
    const f = byId.get(id)!.callFrame;
    const file = f.url
      .replace(/^file:\/\//, '')
      .replace(/^.*?\/(services|packages|apps|node_modules)\//, '$1/');
    const name = f.functionName || '(anonymous)';
    const where = file ? `${file}:${f.lineNumber + 1}` : '';
    const key = `${name} ${where}`;
    const row = merged.get(key) ?? { name, where, selfMs: 0, share: 0 };
    row.selfMs += ms;
    merged.set(key, row);
  }
  const rows = [...merged.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const r of rows) r.share = r.selfMs / total;
  return { total, rows };
}
