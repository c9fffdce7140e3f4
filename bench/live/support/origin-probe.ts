/**
 * How late frames are when they become available at the origin, without a
 * player's buffer: an LL-HLS client that follows one rendition with blocking
 * playlist reloads (`_HLS_msn`/`_HLS_part`), fetches each part as soon as it
 * is listed, and pipes init + parts into an ffmpeg that decodes them to 8×6
 * gray pixels per frame (one per barcode block). Each decoded frame's
 * barcode, against this process's clock, gives the publisher → origin
 * latency (plus one HTTP round trip and the decode, a few ms).
 */
import { decodeBits } from './barcode.ts';
import { type Proc, start } from './procs.ts';

interface PartEntry {
  msn: number;
  index: number;
  uri: string;
  independent: boolean;
}

function partsOf(text: string): { parts: PartEntry[]; init: string | undefined } {
  const parts: PartEntry[] = [];
  let init: string | undefined;
  for (const line of text.split('\n')) {
    const map = /^#EXT-X-MAP:URI="([^"]+)"/.exec(line);
    if (map) init = map[1];
    const m = /^#EXT-X-PART:.*URI="(part-(\d+)\.(\d+)\.m4s)"/.exec(line);
    if (m) {
      parts.push({
        uri: m[1]!,
        msn: Number(m[2]),
        index: Number(m[3]),
        independent: line.includes('INDEPENDENT=YES'),
      });
    }
  }
  return { parts, init };
}

/** An ffmpeg that decodes `input` to 8×6 gray frames and reads each frame's barcode as it comes out. */
export function startFrameDecoder(input: string[], skipMs: number): { proc: Proc; latencies: number[] } {
  const started = Date.now();
  const proc = start(
    'frame-decoder',
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-threads',
      '1',
      '-probesize',
      '32768',
      '-analyzeduration',
      '0',
      '-fflags',
      'nobuffer',
      '-flags',
      'low_delay',
      ...input,
      '-map',
      '0:v:0',
      '-vf',
      'scale=8:6:flags=area',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'gray',
      '-flush_packets',
      '1',
      'pipe:1',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const latencies: number[] = [];
  let pending = Buffer.alloc(0);
  proc.child.stdout?.on('data', (d: Buffer) => {
    const now = Date.now();
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 48) {
      const bits = [...pending.subarray(0, 48)].map((v) => v > 128);
      pending = pending.subarray(48);
      const stamp = decodeBits(bits, now);
      if (stamp !== undefined && now - started >= skipMs) latencies.push(now - stamp);
    }
  });
  return { proc, latencies };
}

/**
 * Follows `playlistUrl` for `seconds` and returns the latency (ms) of every decoded frame, except in
 * the first `skipMs` (frames of parts that were already old when the probe started).
 */
export async function probeOrigin(playlistUrl: string, seconds: number, skipMs = 2_000): Promise<number[]> {
  const base = playlistUrl.slice(0, playlistUrl.lastIndexOf('/') + 1);
  const { proc: decoder, latencies } = startFrameDecoder(['-f', 'mp4', '-i', 'pipe:0'], skipMs);
  const stdin = decoder.child.stdin!;
  stdin.on('error', () => undefined);
  const end = Date.now() + seconds * 1000;
  try {
    // Start at the newest independent part.
    const first = partsOf(await (await fetch(playlistUrl)).text());
    const startAt = first.parts.findLast((p) => p.independent);
    if (!startAt || !first.init) throw new Error('no independent part or init segment in the playlist');
    stdin.write(Buffer.from(await (await fetch(`${base}${first.init}`)).arrayBuffer()));
    let next = { msn: startAt.msn, index: startAt.index };
    let parts = first.parts;
    while (Date.now() < end) {
      // Everything listed from `next` on, in order; then block for the part after it.
      const unfetched = parts.filter(
        (p) => p.msn > next.msn || (p.msn === next.msn && p.index >= next.index),
      );
      for (const p of unfetched) {
        const res = await fetch(`${base}${p.uri}`);
        if (!res.ok) throw new Error(`${p.uri}: ${res.status}`);
        stdin.write(Buffer.from(await res.arrayBuffer()));
        next = { msn: p.msn, index: p.index + 1 };
      }
      const text = await (
        await fetch(`${playlistUrl}?_HLS_msn=${next.msn}&_HLS_part=${next.index}`, {
          signal: AbortSignal.timeout(10_000),
        })
      ).text();
      const listed = partsOf(text).parts;
      // The segment closed before that part index: continue with part 0 of the next segment.
      if (!listed.some((p) => p.msn === next.msn && p.index === next.index)) {
        const after = listed.find((p) => p.msn > next.msn);
        if (after) next = { msn: after.msn, index: 0 };
      }
      parts = listed;
    }
    return latencies;
  } finally {
    stdin.end();
    await decoder.stop(2_000);
  }
}
