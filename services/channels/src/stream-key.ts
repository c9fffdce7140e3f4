import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** `live_` and 32 random bytes in base64url: what OBS users paste as the stream key. */
const KEY_PATTERN = /^live_[A-Za-z0-9_-]{43}$/;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function newStreamKey(): string {
  return `live_${randomBytes(32).toString('base64url')}`;
}

export function isWellFormedStreamKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}

/**
 * Turns stream keys into what the database may hold, so a dump of it yields
 * no usable key: an HMAC-SHA256 to find a key's channel (a hash authorizes
 * nothing: AuthorizePublish takes the key itself and hashes it), and an
 * AES-256-GCM sealing to show the key to its owner again. Both keys are
 * derived (HKDF) from one secret kept out of the database, so neither
 * algorithm reuses the other's key.
 */
export class StreamKeyVault {
  readonly #lookupKey: Buffer;
  readonly #sealKey: Buffer;

  constructor(secret: Buffer) {
    if (secret.length !== 32) throw new Error('the stream key secret must be 32 bytes');
    this.#lookupKey = Buffer.from(
      hkdfSync('sha256', secret, '', 'wavecast.channels.stream-key.lookup.v1', 32),
    );
    this.#sealKey = Buffer.from(hkdfSync('sha256', secret, '', 'wavecast.channels.stream-key.seal.v1', 32));
  }

  lookupHash(streamKey: string): Buffer {
    return createHmac('sha256', this.#lookupKey).update(streamKey).digest();
  }

  /** nonce | ciphertext | tag, bound to the channel: a sealed key copied to another row does not open. */
  seal(streamKey: string, channelId: string): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#sealKey, nonce);
    cipher.setAAD(Buffer.from(channelId));
    const body = Buffer.concat([cipher.update(streamKey, 'utf8'), cipher.final()]);
    return Buffer.concat([nonce, body, cipher.getAuthTag()]);
  }

  /** The key, or undefined when the sealed value was not made by this secret for this channel. */
  open(sealed: Buffer, channelId: string): string | undefined {
    if (sealed.length <= NONCE_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#sealKey, sealed.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(channelId));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
