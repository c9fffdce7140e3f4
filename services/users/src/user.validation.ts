import {
  AVATAR_URL,
  BIO,
  DISPLAY_NAME,
  EMAIL,
  RESERVED_USERNAMES,
  USERNAME,
} from '@wavecast/contracts/rules';
import { AppError, type FieldViolation } from '@wavecast/kit/errors';
import type { ProfilePatch } from './user.model.ts';

const usernamePattern = new RegExp(USERNAME.pattern);
const emailPattern = new RegExp(EMAIL.pattern);
// Control characters have no place in names shown to other people.
const controlChars = /\p{Cc}/u;

export function usernameProblem(username: string): string | undefined {
  if (!usernamePattern.test(username)) return `must be ${USERNAME.description}`;
  if (RESERVED_USERNAMES.has(username.toLowerCase())) return 'is reserved';
  return undefined;
}

export function emailProblem(email: string): string | undefined {
  if (email.length > EMAIL.maxLength || !emailPattern.test(email)) return 'must be a valid email address';
  return undefined;
}

/** Throws invalid_argument naming every bad field. */
export function assertValid(violations: (FieldViolation | undefined)[]): void {
  const fields = violations.filter((v): v is FieldViolation => v !== undefined);
  if (fields.length === 0) return;
  throw new AppError('invalid_argument', fields.map((f) => `${f.field} ${f.message}`).join('; '), { fields });
}

export function violation(field: string, problem: string | undefined): FieldViolation | undefined {
  return problem === undefined ? undefined : { field, message: problem };
}

export function validateNewUser(username: string, email: string): void {
  assertValid([violation('username', usernameProblem(username)), violation('email', emailProblem(email))]);
}

function textProblem(value: string | undefined, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (value.length > max) return `must be at most ${max} characters`;
  if (controlChars.test(value.replace(/[\n\r\t]/g, ''))) return 'must not contain control characters';
  return undefined;
}

function urlProblem(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length > AVATAR_URL.maxLength) return `must be at most ${AVATAR_URL.maxLength} characters`;
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  } catch {
    return 'must be an http(s) URL';
  }
  return undefined;
}

export function validateProfile(patch: ProfilePatch): void {
  assertValid([
    violation('display_name', textProblem(patch.displayName, DISPLAY_NAME.maxLength)),
    violation('display_name', patch.displayName?.includes('\n') ? 'must be one line' : undefined),
    violation('bio', textProblem(patch.bio, BIO.maxLength)),
    violation('avatar_url', urlProblem(patch.avatarUrl)),
  ]);
}
