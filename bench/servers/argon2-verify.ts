/**
 * Baseline for logins: bare `@node-rs/argon2` verifies of one argon2id hash at
 * the cost the benchmark passes (the platform's default), `BENCH_CONCURRENCY` at a time, for a warm-up
 * and then `BENCH_DURATION_MS`; reports how many completed and the CPU time
 * this process spent on them.
 */
import { hash, verify } from '@node-rs/argon2';
import { childRuntime, send } from '../lib/child-runtime.ts';
import { busyCores, machineSample } from '../lib/machine-load.ts';
import { cpuBetween, cpuSample } from '../lib/protocol.ts';

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 2_000);
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const memoryCost = Number(process.env.BENCH_ARGON2_MEMORY_KIB ?? 19_456);
const timeCost = Number(process.env.BENCH_ARGON2_ITERATIONS ?? 2);
const password = 'correct horse battery staple';

childRuntime();
// 2 is Algorithm.Argon2id (a const enum, which type stripping cannot import).
const stored = await hash(password, { algorithm: 2, memoryCost, timeCost, parallelism: 1 });
send({ type: 'ready' });

/** Runs `concurrency` verify loops until `ms` have passed; resolves to the number completed. */
async function verifyFor(ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  let verifies = 0;
  const loop = async () => {
    while (performance.now() < deadline) {
      if (!(await verify(stored, password))) throw new Error('argon2 verify rejected the right password');
      verifies++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return verifies;
}

await verifyFor(warmupMs);
const machineBefore = machineSample();
const before = cpuSample();
const verifies = await verifyFor(durationMs);
const { cpuSeconds, wallSeconds } = cpuBetween(before, cpuSample());
const machineCores = busyCores(machineBefore, machineSample());
send({ type: 'result', verifies, wallMs: wallSeconds * 1000, cpuUs: cpuSeconds * 1e6, machineCores });
