import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseKey32 } from '@wavecast/kit/config';
import { AppError } from '@wavecast/kit/errors';

/** Where the all-in-one process keeps its generated stream key secret. */
export function streamKeySecretPath(dataDir: string): string {
  return path.join(dataDir, 'secrets', 'stream-key.secret');
}

/**
 * The stream key secret of an embedded installation: read from `file`, or
 * generated there (mode 0600, in a 0700 directory) on first start. Losing it
 * makes every stored stream key unreadable, so it lives next to the data.
 */
export async function loadOrCreateSecretFile(file: string): Promise<Buffer> {
  const existing = await readSecret(file);
  if (existing) return existing;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32);
  try {
    // wx: of two processes starting at once, one writes and the other reads.
    await writeFile(file, `${secret.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const written = await readSecret(file);
    if (!written) throw unreadable(file);
    return written;
  }
}

async function readSecret(file: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const secret = parseKey32(text);
  if (!secret) throw unreadable(file);
  // Someone loosened it (a copy, a restore): only the owner should read it.
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  return secret;
}

function unreadable(file: string): AppError {
  return new AppError('failed_precondition', `${file} does not hold a 32-byte base64 secret`);
}
