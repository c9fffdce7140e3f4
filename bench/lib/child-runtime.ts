/**
 * Child side of the benchmark processes: answers CPU samples, reports ready,
 * and closes on `stop`, on a signal, or when the parent goes away (the IPC
 * channel closes even if the parent was killed), so no child outlives its run.
 */
import { type ChildMessage, cpuSample, type ParentMessage } from './protocol.ts';

export function send(message: ChildMessage): void {
  process.send?.(message);
}

/** Installs the handlers; `close` releases the child's resources before it exits. */
export function childRuntime(close: () => Promise<void> = async () => {}): void {
  if (!process.send) {
    process.stderr.write('this is a benchmark child process; run it through bench/*.ts\n');
    process.exit(2);
  }
  let closing = false;
  const shutdown = (code: number) => {
    if (closing) return;
    closing = true;
    // A hung close must not keep the process around.
    setTimeout(() => process.exit(code || 1), 5_000).unref();
    close().then(
      () => process.exit(code),
      (err) => {
        process.stderr.write(`close failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'cpu') send({ type: 'cpu', ...cpuSample() });
    else if (m.type === 'stop') shutdown(0);
  });
  process.on('disconnect', () => shutdown(0));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(0));
}
