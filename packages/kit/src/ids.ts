import { randomBytes } from 'node:crypto';

/**
 * Prefixed, sortable ids: `usr_01JD3Q...`. The body is a ULID (48-bit
 * millisecond timestamp + 80 random bits, Crockford base32), so ids sort by
 * creation time as strings and in B-tree indexes.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export const idPrefixes = [
  'usr',
  'ses',
  'rtk',
  'req',
  'evt',
  'key',
  'job',
  'vid',
  'chn',
  'upl',
  'msg',
  'liv',
] as const;
export type IdPrefix = (typeof idPrefixes)[number];

let lastTime = 0;
let lastRandom: Uint8Array = new Uint8Array(10);
/** encodeTime(lastTime), kept: ids made within one millisecond share it. */
let lastTimeText = encodeTime(0);

// Random bytes come from a pool refilled 4 KiB at a time: one call into the
// CSPRNG per ~400 ids instead of one per id (ids are unique, not secret).
let pool: Buffer = Buffer.alloc(0);
let poolOffset = 0;

function random10(): Uint8Array {
  if (poolOffset + 10 > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  const out = pool.subarray(poolOffset, poolOffset + 10);
  poolOffset += 10;
  return out;
}

function encodeTime(time: number): string {
  let out = '';
  let t = time;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits -> 16 base32 characters.
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

function increment(bytes: Uint8Array): Uint8Array {
  const next = new Uint8Array(bytes);
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i] === 255) {
      next[i] = 0;
    } else {
      next[i] = (next[i] ?? 0) + 1;
      break;
    }
  }
  return next;
}

/** A new ULID; monotonic within one process even inside one millisecond. */
export function ulid(now: number = Date.now()): string {
  if (now === lastTime) {
    lastRandom = increment(lastRandom);
  } else {
    lastTime = now;
    lastTimeText = encodeTime(now);
    lastRandom = random10();
  }
  return lastTimeText + encodeRandom(lastRandom);
}

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}

const ID_PATTERN = /^([a-z]{3})_([0-9A-HJKMNP-TV-Z]{26})$/;

/** True when `value` is a well-formed id with the given prefix. */
export function isId(value: string, prefix: IdPrefix): boolean {
  const match = ID_PATTERN.exec(value);
  return match !== null && match[1] === prefix;
}

/** The creation time encoded in an id. */
export function idTime(id: string): Date {
  const body = id.slice(id.indexOf('_') + 1, id.indexOf('_') + 11);
  let t = 0;
  for (const ch of body) t = t * 32 + ALPHABET.indexOf(ch);
  return new Date(t);
}
