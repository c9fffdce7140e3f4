/**
 * Where a V8 CPU profile's time went: self time by function (file:line) and
 * by package, and inclusive time of the project's own functions (what runs
 * under each of them), as tables. Also a program:
 *
 *   npm exec -- node bench/vod/lib/profile-summary.ts bench/results/profiles/<file>.cpuprofile
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { num, table } from '../../lib/report.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled wall time of the profile, and the part not idle (µs). */
  totalUs: number;
  busyUs: number;
  selfByFunction: { name: string; us: number }[];
  /** Self time by package; Node internals and native functions count for the package that called them. */
  selfByPackage: { name: string; us: number }[];
  /**
   * The project's own functions (not node_modules), with everything they called synchronously
   * (an await ends the stack: what runs after it is not counted under the caller).
   */
  inclusiveOwn: { name: string; us: number }[];
}

const root = fileURLToPath(new URL('../../../', import.meta.url));

function where(url: string): string {
  if (!url) return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  return path.startsWith(root) ? relative(root, path) : path;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = where(url);
  return file ? `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}` : functionName || '(anonymous)';
}

/** The package (or part of the project) a frame belongs to. */
export function packageOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  // The one WebAssembly module of the platform's process: PGlite's Postgres.
  if (url.startsWith('wasm://')) return 'wasm (PGlite: Postgres itself)';
  const path = where(url);
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = path.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? path);
  }
  const parts = path.split('/');
  if ((parts[0] === 'services' || parts[0] === 'packages' || parts[0] === 'apps') && parts[1]) {
    return `${parts[0]}/${parts[1]}`;
  }
  return parts[0] ?? path;
}

/** A frame of the project's own source (not a dependency, not Node's, not WebAssembly). */
const isOwn = (node: ProfileNode) => {
  const { url } = node.callFrame;
  if (!url.startsWith('file://')) return false;
  const path = where(url);
  return !path.startsWith('/') && !path.includes('node_modules/');
};

function top(map: Map<string, number>, count: number): { name: string; us: number }[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, us }));
}

export function summarizeProfile(file: string, count = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });

  const selfByFunction = new Map<string, number>();
  const selfByPackage = new Map<string, number>();
  const inclusiveOwn = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  const underInspector = (id: number) => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (byId.get(at)?.callFrame.url === 'node:inspector') return true;
    }
    return false;
  };
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    // Starting the profiler is sampled too: not the platform's time.
    if (!node || underInspector(id)) continue;
    totalUs += us;
    if (node.callFrame.functionName === '(idle)') idleUs += us;
    const name = label(node);
    selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + us);
    // Node's own code and native functions count for the package that called them (TextEncoder for protobuf, …).
    let pkg = packageOf(node);
    for (
      let at = parent.get(id);
      (pkg === 'node internals' || pkg === '(native)') && at !== undefined;
      at = parent.get(at)
    ) {
      const caller = byId.get(at);
      const callerPkg = caller ? packageOf(caller) : '(root)';
      if (callerPkg === '(root)') break;
      if (callerPkg !== 'node internals' && callerPkg !== '(native)') pkg = callerPkg;
    }
    selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + us);
    // Every distinct own function on the stack gets this sample's time once (recursion counted once).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (!frame || !isOwn(frame)) continue;
      const own = label(frame);
      if (seen.has(own)) continue;
      seen.add(own);
      inclusiveOwn.set(own, (inclusiveOwn.get(own) ?? 0) + us);
    }
  }
  return {
    totalUs,
    busyUs: totalUs - idleUs,
    selfByFunction: top(selfByFunction, count),
    selfByPackage: top(selfByPackage, count),
    inclusiveOwn: top(inclusiveOwn, count),
  };
}

/** The summary as text: shares of the busy (non-idle) time. */
export function formatProfileSummary(s: ProfileSummary): string {
  const share = (us: number) => `${num((100 * us) / s.busyUs, 1)} %`;
  const rows = (list: { name: string; us: number }[]) =>
    list.filter((e) => e.name !== '(idle)').map((e) => [e.name, num(e.us / 1000, 0), share(e.us)]);
  return [
    `profiled ${num(s.totalUs / 1e6, 1)} s, busy ${num(s.busyUs / 1e6, 1)} s`,
    '',
    table(['self time by package (Node/native code: by caller)', 'ms', 'of busy'], rows(s.selfByPackage)),
    '',
    table(['self time by function', 'ms', 'of busy'], rows(s.selfByFunction)),
    '',
    table(['project functions, with what they call synchronously', 'ms', 'of busy'], rows(s.inclusiveOwn)),
  ].join('\n');
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/vod/lib/profile-summary.ts <file.cpuprofile> [count]\n');
    process.exit(2);
  }
  console.log(formatProfileSummary(summarizeProfile(file, Number(process.argv[3] ?? 25))));
}
