import { AppError, type FieldViolation } from '@wavecast/kit/errors';
import { isId } from '@wavecast/kit/ids';
import type { VideoInput, VideoPatch } from './video.model.ts';

/** Input limits; the gateway's schemas use the same numbers. */
export const VIDEO_TITLE = { minLength: 1, maxLength: 100 } as const;
export const VIDEO_DESCRIPTION = { maxLength: 5000 } as const;
export const VIDEO_TAGS = { maxItems: 15, maxLength: 30 } as const;

// Titles and tags are one line; descriptions may hold line breaks and tabs.
const controlChars = /\p{Cc}/u;
const controlCharsButBreaks = /[^\P{Cc}\t\n\r]/u;

/** Throws invalid_argument naming every bad field. */
export function assertValid(violations: (FieldViolation | undefined)[]): void {
  const fields = violations.filter((v): v is FieldViolation => v !== undefined);
  if (fields.length === 0) return;
  throw new AppError('invalid_argument', fields.map((f) => `${f.field} ${f.message}`).join('; '), { fields });
}

export function violation(field: string, problem: string | undefined): FieldViolation | undefined {
  return problem === undefined ? undefined : { field, message: problem };
}

export function idProblem(value: string, prefix: 'vid' | 'usr'): string | undefined {
  return isId(value, prefix) ? undefined : `must be a ${prefix}_… id`;
}

function titleProblem(title: string | undefined): string | undefined {
  if (title === undefined) return undefined;
  if (title.length < VIDEO_TITLE.minLength) return 'must not be empty';
  if (title.length > VIDEO_TITLE.maxLength) return `must be at most ${VIDEO_TITLE.maxLength} characters`;
  if (controlChars.test(title)) return 'must be one line without control characters';
  return undefined;
}

function descriptionProblem(description: string | undefined): string | undefined {
  if (description === undefined) return undefined;
  if (description.length > VIDEO_DESCRIPTION.maxLength)
    return `must be at most ${VIDEO_DESCRIPTION.maxLength} characters`;
  if (controlCharsButBreaks.test(description)) return 'must not contain control characters';
  return undefined;
}

function tagsProblem(tags: string[] | undefined): string | undefined {
  if (tags === undefined) return undefined;
  if (tags.length > VIDEO_TAGS.maxItems) return `must be at most ${VIDEO_TAGS.maxItems} tags`;
  const long = tags.find((t) => t.length > VIDEO_TAGS.maxLength);
  if (long !== undefined) return `must each be at most ${VIDEO_TAGS.maxLength} characters`;
  if (tags.some((t) => controlChars.test(t))) return 'must each be one line without control characters';
  return undefined;
}

/** Tags as stored: trimmed, lowercased, without empty ones or repeats, in the order given. */
export function normaliseTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.trim().toLowerCase()).filter((t) => t !== ''))];
}

/** Trims and normalises what the owner typed. */
export function normalisePatch<P extends VideoPatch>(patch: P): P {
  return {
    ...patch,
    title: patch.title?.trim(),
    description: patch.description?.trim(),
    tags: patch.tags && normaliseTags(patch.tags),
  };
}

export function validatePatch(patch: VideoPatch): void {
  assertValid([
    violation('title', titleProblem(patch.title)),
    violation('description', descriptionProblem(patch.description)),
    violation('tags', tagsProblem(patch.tags)),
  ]);
}

export function validateInput(ownerId: string, input: VideoInput): void {
  assertValid([
    violation('owner_id', idProblem(ownerId, 'usr')),
    violation('title', titleProblem(input.title)),
    violation('description', descriptionProblem(input.description)),
    violation('tags', tagsProblem(input.tags)),
  ]);
}
