/**
 * A throwaway S3 server for tests: s3rver on a free port of 127.0.0.1, data in
 * a temporary directory, one bucket created up front.
 *
 * It runs in a child process because s3rver encrypts ListObjectsV2
 * continuation tokens with single DES, which OpenSSL 3 only offers through its
 * legacy provider (a process-wide startup flag); without it, any listing of
 * more than 1000 keys fails with a 500. A child also keeps s3rver's own
 * uncaught-exception handlers out of the test runner.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface S3Fixture {
  /** An `s3://` storage URL for the bucket, with the credentials s3rver accepts. */
  url: string;
  endpoint: string;
  bucket: string;
  /** A storage URL for another bucket on the same server; append `&create=true` to make it. */
  urlFor(bucket: string, extra?: string): string;
  /** Stops the server and removes its data. */
  close(): Promise<void>;
}

// Runs in the child: argv is [s3rver module path, data directory, bucket].
const serverScript = `
const [modulePath, directory, bucket] = process.argv.slice(1);
const S3rver = require(modulePath);
new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] })
  .run()
  .then(({ port }) => console.log(JSON.stringify({ port })), (err) => { console.error(err); process.exit(1); });
// Exit with the parent, even if it dies without calling close().
process.stdin.on('end', () => process.exit(0)).resume();
`;

/** Starts s3rver; call `close()` (e.g. in afterAll). */
export async function startS3(bucket = 'test-bucket'): Promise<S3Fixture> {
  const directory = await mkdtemp(join(tmpdir(), 'wavecast-s3rver-'));
  const modulePath = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '-e', serverScript, modulePath, directory, bucket],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let port: number;
  try {
    port = await readPort(child);
  } catch (err) {
    await stop(child);
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  // s3rver skips SigV4 verification but still rejects unknown access key ids:
  // only S3RVER/S3RVER exists.
  const urlFor = (name: string, extra = '') =>
    `s3://${name}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=true` +
    `&accessKeyId=S3RVER&secretAccessKey=S3RVER${extra}`;
  return {
    url: urlFor(bucket),
    endpoint,
    bucket,
    urlFor,
    async close() {
      await stop(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The port the child prints once listening; fails if it exits first or takes over 15 s. */
async function readPort(child: ChildProcess): Promise<number> {
  const lines = createInterface({ input: child.stdout! });
  const deadline = AbortSignal.timeout(15_000);
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`s3rver exited early with code ${code}`)));
    deadline.addEventListener('abort', () => reject(new Error('s3rver did not start within 15 s')));
  });
  const first = new Promise<string>((resolve) => lines.once('line', resolve));
  try {
    const line = await Promise.race([first, exited]);
    return (JSON.parse(line) as { port: number }).port;
  } finally {
    lines.close();
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}
