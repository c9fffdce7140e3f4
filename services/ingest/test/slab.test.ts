import { describe, expect, it } from 'vitest';
import { Slab } from '../src/slab.ts';

describe('Slab', () => {
  it('cuts aligned, non-overlapping buffers out of one allocation, large ones apart', () => {
    const slab = new Slab(1024);
    const a = slab.alloc(10);
    const b = slab.alloc(100);
    expect(a.buffer).toBe(b.buffer);
    expect(b.byteOffset - a.byteOffset).toBe(16);
    a.fill(1);
    b.fill(2);
    expect([...a].every((x) => x === 1)).toBe(true);
    const big = slab.alloc(300);
    expect(big.buffer).not.toBe(a.buffer);
    expect(big.length).toBe(300);
    // A full slab is replaced, never overwritten.
    for (let i = 0; i < 10; i++) slab.alloc(200).fill(3);
    expect([...b].every((x) => x === 2)).toBe(true);
  });
});
