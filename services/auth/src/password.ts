import { hash, verify } from '@node-rs/argon2';
import { PASSWORD } from '@wavecast/contracts/rules';
import { AppError } from '@wavecast/kit/errors';

export interface Argon2Cost {
  /** KiB of memory per hash (OWASP minimum for argon2id: 19456). */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const defaultArgon2Cost: Argon2Cost = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

// The passwords every credential-stuffing list starts with.
const COMMON = new Set([
  'password',
  'password1',
  'password123',
  '12345678',
  '123456789',
  '1234567890',
  'qwertyui',
  'qwerty123',
  'iloveyou',
  'sunshine',
  'princess',
  'football',
  'baseball',
  'welcome1',
  'letmein1',
  'abc12345',
  'admin123',
  'passw0rd',
  'trustno1',
  '11111111',
  '00000000',
  'superman',
  'starwars',
  'whatever',
  'dragon12',
  'monkey12',
  'liverpool',
  'wavecast',
]);

/** Why a password is too weak, or undefined when it is acceptable. */
export function passwordProblem(password: string, username: string, email: string): string | undefined {
  if (password.length === 0) return 'is required';
  if (password.length < PASSWORD.minLength) return `must be at least ${PASSWORD.minLength} characters`;
  if (password.length > PASSWORD.maxLength) return `must be at most ${PASSWORD.maxLength} characters`;
  if (password.trim().length === 0) return 'must not be only spaces';
  if (new Set(password).size < 4) return 'must use at least 4 different characters';
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'is too common';
  if (lower === username.toLowerCase() || lower === email.toLowerCase())
    return 'must differ from your username and email';
  return undefined;
}

export function assertStrongPassword(password: string, username: string, email: string): void {
  const problem = passwordProblem(password, username, email);
  if (problem) {
    throw new AppError('invalid_argument', `password ${problem}`, {
      fields: [{ field: 'password', message: problem }],
    });
  }
}

export class PasswordHasher {
  readonly #cost: Argon2Cost;
  #dummy: Promise<string> | undefined;

  constructor(cost: Argon2Cost = defaultArgon2Cost) {
    this.#cost = cost;
  }

  hash(password: string): Promise<string> {
    // 2 is Algorithm.Argon2id (a const enum, which type stripping cannot import).
    return hash(password, { algorithm: 2, ...this.#cost });
  }

  async verify(stored: string, password: string): Promise<boolean> {
    try {
      return await verify(stored, password);
    } catch {
      return false;
    }
  }

  /** Spends the same time as a real check, so unknown logins can't be told apart by timing. */
  async verifyDummy(password: string): Promise<void> {
    this.#dummy ??= this.hash('wavecast-timing-equaliser');
    await this.verify(await this.#dummy, password);
  }

  /** True when a stored hash was made with a weaker cost than configured. */
  needsRehash(stored: string): boolean {
    const m = /m=(\d+),t=(\d+),p=(\d+)/.exec(stored);
    if (!m) return true;
    return Number(m[1]) < this.#cost.memoryCost || Number(m[2]) < this.#cost.timeCost;
  }
}
