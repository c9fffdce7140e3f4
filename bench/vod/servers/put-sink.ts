/**
 * Baseline server for uploads: a bare `http.createServer` that writes the
 * body of each `PUT /?offset=<n>` into one file at that offset and answers
 * 204 once it is written (no fsync), in a temporary directory of the OS temp
 * directory (the platform's data directory is there too), removed on exit.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { childRuntime, send } from '../../lib/child-runtime.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'wavecast-bench-vod-sink-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'upload.bin');

const server = createServer((req, res) => {
  const offset = Number(new URL(req.url ?? '/', 'http://sink').searchParams.get('offset') ?? 0);
  if (req.method !== 'PUT' || !Number.isSafeInteger(offset) || offset < 0) {
    res.writeHead(400).end();
    return;
  }
  // The first chunk starts a new file; the others write in place.
  const out = createWriteStream(file, offset === 0 ? { flags: 'w' } : { flags: 'r+', start: offset });
  pipeline(req, out).then(
    () => res.writeHead(204).end(),
    (err: unknown) => res.writeHead(500).end(String(err)),
  );
});

childRuntime(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  send({ type: 'ready', url: `http://127.0.0.1:${port}` });
});
