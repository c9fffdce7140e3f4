/**
 * A worker killed mid-job leaves its copy of the source behind; the next
 * worker started on the same directory removes it, and only it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweepStaleWork } from '../src/encode-job.ts';

describe('sweepStaleWork', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wavecast-encoder-sweep-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('removes the work of dead processes and keeps that of live ones and unrelated entries', async () => {
    const dead = spawn('true');
    await once(dead, 'exit');
    const alive = spawn('sleep', ['30']);
    try {
      const names = {
        dead: `wavecast-encode-${dead.pid}-vid_A-x1`,
        alive: `wavecast-encode-${alive.pid}-vid_B-x2`,
        mine: `wavecast-encode-${process.pid}-vid_C-x3`,
        other: 'something-else',
      };
      for (const name of Object.values(names)) {
        await mkdir(join(dir, name));
        await writeFile(join(dir, name, 'source.mp4'), 'bytes');
      }
      expect(await sweepStaleWork(dir)).toEqual([names.dead]);
      expect((await readdir(dir)).sort()).toEqual([names.alive, names.mine, names.other].sort());
    } finally {
      alive.kill('SIGKILL');
    }
  });

  it('is a no-op on a directory that does not exist', async () => {
    expect(await sweepStaleWork(join(dir, 'missing'))).toEqual([]);
  });
});
