import { CHANNEL_CATEGORY, CHANNEL_TITLE, USERNAME } from '@wavecast/contracts/rules';
import { AppError, type FieldViolation } from '@wavecast/kit/errors';
import { isId } from '@wavecast/kit/ids';
import type { ChannelPatch } from './channel.model.ts';

// Titles and categories are shown to other people: one line, no control characters.
const controlChars = /\p{Cc}/u;
const usernamePattern = new RegExp(USERNAME.pattern);

/** Throws invalid_argument naming every bad field. */
export function assertValid(violations: (FieldViolation | undefined)[]): void {
  const fields = violations.filter((v): v is FieldViolation => v !== undefined);
  if (fields.length === 0) return;
  throw new AppError('invalid_argument', fields.map((f) => `${f.field} ${f.message}`).join('; '), { fields });
}

function violation(field: string, problem: string | undefined): FieldViolation | undefined {
  return problem === undefined ? undefined : { field, message: problem };
}

function lineProblem(value: string | undefined, min: number, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (value.length < min) return min === 1 ? 'must not be empty' : `must be at least ${min} characters`;
  if (value.length > max) return `must be at most ${max} characters`;
  if (controlChars.test(value)) return 'must be one line without control characters';
  return undefined;
}

/** Title and category as stored: trimmed. */
export function normalisePatch(patch: ChannelPatch): ChannelPatch {
  return { title: patch.title?.trim(), category: patch.category?.trim() };
}

export function validatePatch(patch: ChannelPatch): void {
  assertValid([
    violation('title', lineProblem(patch.title, CHANNEL_TITLE.minLength, CHANNEL_TITLE.maxLength)),
    violation('category', lineProblem(patch.category, 0, CHANNEL_CATEGORY.maxLength)),
  ]);
}

export function validateOwner(ownerId: string, username?: string): void {
  assertValid([
    violation('owner_id', isId(ownerId, 'usr') ? undefined : 'must be a usr_… id'),
    username === undefined
      ? undefined
      : violation('username', usernamePattern.test(username) ? undefined : `must be ${USERNAME.description}`),
  ]);
}

export function thumbnailProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 2048) return 'must be at most 2048 characters';
  if (value.startsWith('/') && !value.startsWith('//') && !/\s/.test(value)) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol === 'https:' || url.protocol === 'http:') return undefined;
  } catch {
    // not a URL
  }
  return 'must be an http(s) URL or an absolute path';
}

/** Short identifying text from an ingest (node names, connection ids, reasons). */
export function tokenProblem(value: string, max: number, required = false): string | undefined {
  if (required && value === '') return 'is required';
  if (value.length > max) return `must be at most ${max} characters`;
  if (controlChars.test(value)) return 'must not contain control characters';
  return undefined;
}

export { violation };
