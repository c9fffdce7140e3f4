/** Stream keys, the vault that stores them, the secret file and the configuration. Pure units. */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError, describeConfig, loadConfig } from '@wavecast/kit/config';
import { afterEach, describe, expect, it } from 'vitest';
import { channelsConfigSpec, standaloneChannelsConfigSpec } from '../src/config.ts';
import { loadOrCreateSecretFile, streamKeySecretPath } from '../src/secret-file.ts';
import { isWellFormedStreamKey, newStreamKey, StreamKeyVault } from '../src/stream-key.ts';

describe('stream keys', () => {
  it('are live_ and 43 base64url characters, never the same twice', () => {
    const keys = new Set(Array.from({ length: 200 }, newStreamKey));
    expect(keys.size).toBe(200);
    for (const key of keys) {
      expect(key).toMatch(/^live_[A-Za-z0-9_-]{43}$/);
      expect(isWellFormedStreamKey(key)).toBe(true);
    }
    for (const bad of [
      '',
      'live_',
      `live_${'a'.repeat(42)}`,
      `live_${'a'.repeat(44)}`,
      `LIVE_${'a'.repeat(43)}`,
    ]) {
      expect(isWellFormedStreamKey(bad), bad).toBe(false);
    }
  });
});

describe('StreamKeyVault', () => {
  const vault = new StreamKeyVault(randomBytes(32));
  const key = newStreamKey();

  it('hashes a key the same way each time, and differently under another secret', () => {
    expect(vault.lookupHash(key).equals(vault.lookupHash(key))).toBe(true);
    expect(vault.lookupHash(key)).toHaveLength(32);
    expect(vault.lookupHash(key).equals(vault.lookupHash(newStreamKey()))).toBe(false);
    expect(new StreamKeyVault(randomBytes(32)).lookupHash(key).equals(vault.lookupHash(key))).toBe(false);
  });

  it('seals a key so that only this secret opens it, for this channel only', () => {
    const sealed = vault.seal(key, 'chn_A');
    expect(sealed.includes(Buffer.from(key))).toBe(false);
    expect(vault.open(sealed, 'chn_A')).toBe(key);
    // A fresh nonce each time.
    expect(vault.seal(key, 'chn_A').equals(sealed)).toBe(false);
    // Copied to another channel's row, it does not open.
    expect(vault.open(sealed, 'chn_B')).toBeUndefined();
    expect(new StreamKeyVault(randomBytes(32)).open(sealed, 'chn_A')).toBeUndefined();
    const tampered = Buffer.from(sealed);
    tampered[20] = (tampered[20] ?? 0) ^ 1;
    expect(vault.open(tampered, 'chn_A')).toBeUndefined();
    expect(vault.open(Buffer.alloc(10), 'chn_A')).toBeUndefined();
  });

  it('refuses a secret that is not 32 bytes', () => {
    expect(() => new StreamKeyVault(randomBytes(16))).toThrow(/32 bytes/);
  });
});

describe('the secret file of an embedded installation', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  const dataDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wavecast-secret-'));
    dirs.push(dir);
    return dir;
  };

  it('is created once, readable by its owner only, then reused', async () => {
    const file = streamKeySecretPath(await dataDir());
    const first = await loadOrCreateSecretFile(file);
    expect(first).toHaveLength(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(file))).mode & 0o777).toBe(0o700);
    expect((await loadOrCreateSecretFile(file)).equals(first)).toBe(true);
  });

  it('is created by one of two processes starting at once', async () => {
    const file = streamKeySecretPath(await dataDir());
    const [a, b] = await Promise.all([loadOrCreateSecretFile(file), loadOrCreateSecretFile(file)]);
    expect(a.equals(b)).toBe(true);
  });

  it('is tightened back to 0600 when loosened, and refused when it holds no secret', async () => {
    const file = streamKeySecretPath(await dataDir());
    await loadOrCreateSecretFile(file);
    await chmod(file, 0o644);
    await loadOrCreateSecretFile(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await writeFile(file, 'not a secret\n');
    await expect(loadOrCreateSecretFile(file)).rejects.toMatchObject({ code: 'failed_precondition' });
  });
});

describe('channels configuration', () => {
  const secret = randomBytes(32);

  it('requires the stream key secret when the service runs alone', () => {
    expect(() => loadConfig(standaloneChannelsConfigSpec, {})).toThrow(ConfigError);
    try {
      loadConfig(standaloneChannelsConfigSpec, { CHANNELS_RECONNECT_GRACE_SECONDS: 'soon' });
    } catch (err) {
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toContain('CHANNELS_STREAM_KEY_SECRET is required');
      expect(problems).toContain('CHANNELS_RECONNECT_GRACE_SECONDS must be an integer');
    }
    const config = loadConfig(standaloneChannelsConfigSpec, {
      CHANNELS_STREAM_KEY_SECRET: secret.toString('base64'),
    });
    expect(config.streamKeySecret.equals(secret)).toBe(true);
    expect(config.reconnectGraceSeconds).toBe(10);
    expect(config.liveEntryTtlSeconds).toBe(30);
    expect(describeConfig(standaloneChannelsConfigSpec, config).CHANNELS_STREAM_KEY_SECRET).toBe('***');
  });

  it('takes base64 or base64url, and refuses anything but 32 bytes', () => {
    const url = loadConfig(channelsConfigSpec, { CHANNELS_STREAM_KEY_SECRET: secret.toString('base64url') });
    expect(url.streamKeySecret?.equals(secret)).toBe(true);
    expect(loadConfig(channelsConfigSpec, {}).streamKeySecret).toBeUndefined();
    for (const bad of [randomBytes(16).toString('base64'), 'x'.repeat(44), `${secret.toString('hex')}`]) {
      expect(() => loadConfig(channelsConfigSpec, { CHANNELS_STREAM_KEY_SECRET: bad })).toThrow(
        'CHANNELS_STREAM_KEY_SECRET must be 32 bytes in base64',
      );
    }
  });
});
