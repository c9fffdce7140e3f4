/**
 * Keeps `process.nextTick` on its fast path for the life of the process.
 * Import this module first in every process entry point, before anything
 * heavy is loaded.
 *
 * Node builds each tick as an object literal with symbol keys. V8 optimises
 * those property definitions only while their feedback names one object
 * shape; once it has seen two, it falls back to a runtime call for every
 * property of every tick, for good. The shape lives as long as some object
 * has it. A small process always has ticks in flight, but a large one (the
 * all-in-one process, or any process that loads the AWS SDK) can run a full
 * garbage collection at a moment when none is alive: the shape is then
 * collected and rebuilt, and every later tick is slow. An HTTP response
 * schedules about seven ticks; on the gateway's cached profile read this
 * cost 3–4 µs of the 45 µs a request took (measured with `perf`).
 *
 * Holding one tick object keeps the shape alive. It is taken from the first
 * tick scheduled here (while that tick is queued, it holds the shape too).
 */
import { executionAsyncResource } from 'node:async_hooks';

let kept: object | undefined;

process.nextTick(() => {
  kept = executionAsyncResource();
});

/** The tick object held (undefined until the first tick has run). */
export function keptTickObject(): object | undefined {
  return kept;
}
