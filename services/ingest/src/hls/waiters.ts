/**
 * Promises that settle when a condition becomes true, re-checked by the owner
 * after each change. Aborted waits are removed at once, so a client that goes
 * away leaves nothing behind.
 */
interface Waiter {
  ready: () => boolean;
  resolve: () => void;
  reject: (reason: unknown) => void;
  detach: () => void;
}

export class Waiters {
  readonly #waiters = new Set<Waiter>();

  get size(): number {
    return this.#waiters.size;
  }

  /** Resolves once `ready()` returns true at a `check()`; rejects with the signal's reason on abort. */
  add(ready: () => boolean, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        ready,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  check(): void {
    for (const waiter of this.#waiters) {
      if (!waiter.ready()) continue;
      this.#waiters.delete(waiter);
      waiter.detach();
      waiter.resolve();
    }
  }

  /** Rejects every pending wait. */
  close(reason: unknown): void {
    for (const waiter of this.#waiters) {
      waiter.detach();
      waiter.reject(reason);
    }
    this.#waiters.clear();
  }
}
