/**
 * Carves many medium-sized buffers out of a few large allocations. A live
 * stream allocates dozens of buffers a second (RTMP messages, fMP4
 * fragments); one fresh allocation each, page-faulted in on first use, was a
 * measurable share of the main thread. A slab stays in memory as long as any
 * buffer cut from it does, so use one only where buffers die in about the
 * order they were made (a stream's media does).
 */
export class Slab {
  readonly #size: number;
  #slab: Buffer = Buffer.alloc(0);
  #at = 0;

  constructor(size: number) {
    this.#size = size;
  }

  /** `n` bytes of uninitialised memory, owned by the caller. */
  alloc(n: number): Buffer {
    // A buffer larger than a quarter slab gets its own allocation, so a slab is never mostly waste.
    if (n > this.#size / 4) return Buffer.allocUnsafeSlow(n);
    if (this.#at + n > this.#slab.length) {
      this.#slab = Buffer.allocUnsafeSlow(this.#size);
      this.#at = 0;
    }
    const out = this.#slab.subarray(this.#at, this.#at + n);
    this.#at += (n + 7) & ~7; // keep the next buffer 8-byte aligned
    return out;
  }
}
