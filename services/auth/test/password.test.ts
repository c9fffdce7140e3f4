/** Password policy and hashing (argon2id at its lowest allowed cost, to stay fast). */
import { describe, expect, it } from 'vitest';
import { PasswordHasher, passwordProblem } from '../src/password.ts';

const PASSWORD = 'correct horse battery';

describe('passwordProblem', () => {
  const cases: [string, string][] = [
    ['', 'is required'],
    ['short', 'must be at least 8 characters'],
    ['x'.repeat(257), 'must be at most 256 characters'],
    ['        ', 'must not be only spaces'],
    ['aaaaaaaa', 'must use at least 4 different characters'],
    ['abcabcabc', 'must use at least 4 different characters'],
    ['🎥🎥🎥🎥', 'must use at least 4 different characters'],
    ['Password', 'is too common'],
    ['12345678', 'is too common'],
    ['WaveCast', 'is too common'],
    ['AdaLovelace', 'must differ from your username and email'],
    ['ada@example.com', 'must differ from your username and email'],
    [PASSWORD, ''],
    ['abcd1234', ''],
    [`${'x'.repeat(252)}abcd`, ''],
  ];

  it.each(cases)('%j: %j (empty = acceptable)', (password, problem) => {
    expect(passwordProblem(password, 'adalovelace', 'Ada@Example.com') ?? '').toBe(problem);
  });
});

describe('PasswordHasher', () => {
  it('hashes with argon2id and verifies only the right password', async () => {
    const hasher = new PasswordHasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 });
    const hash = await hasher.hash(PASSWORD);
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(await hasher.verify(hash, PASSWORD)).toBe(true);
    expect(await hasher.verify(hash, `${PASSWORD}!`)).toBe(false);
    expect(await hasher.verify('not a hash', PASSWORD)).toBe(false);
    expect(hasher.needsRehash(hash)).toBe(false);
    expect(new PasswordHasher({ memoryCost: 16384, timeCost: 1, parallelism: 1 }).needsRehash(hash)).toBe(
      true,
    );
    expect(hasher.needsRehash('garbage')).toBe(true);
  });
});
