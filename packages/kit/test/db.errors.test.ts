import { describe, expect, it } from 'vitest';
import { isUniqueViolation, mapDbError, openDatabase } from '../src/db.ts';
import { AppError } from '../src/errors.ts';

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('mapDbError', () => {
  it.each([
    ['refused', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['reset', withCode('read ECONNRESET', 'ECONNRESET')],
    ['timed out', withCode('connect ETIMEDOUT', 'ETIMEDOUT')],
    ['admin shutdown', withCode('terminating connection due to administrator command', '57P01')],
    ['starting up', withCode('the database system is starting up', '57P03')],
    ['connection failure class', withCode('connection failure', '08006')],
    ['terminated', new Error('Connection terminated unexpectedly')],
    ['happy eyeballs', new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], '')],
  ])('turns %s into unavailable', (_, err) => {
    const mapped = mapDbError(err);
    expect(mapped).toBeInstanceOf(AppError);
    expect(mapped).toMatchObject({ code: 'unavailable', message: 'database unavailable', cause: err });
  });

  it('passes other errors through unchanged', () => {
    const unique = withCode('duplicate key value violates unique constraint "x_key"', '23505');
    const notFound = new AppError('not_found', 'nope');
    expect(mapDbError(unique)).toBe(unique);
    expect(mapDbError(notFound)).toBe(notFound);
    expect(mapDbError('text')).toBe('text');
  });
});

describe('isUniqueViolation', () => {
  it('matches code 23505 and, when given, the constraint', () => {
    const err = Object.assign(withCode('duplicate', '23505'), { constraint: 'items_name_key' });
    expect(isUniqueViolation(err)).toBe(true);
    expect(isUniqueViolation(err, 'items_name_key')).toBe(true);
    expect(isUniqueViolation(err, 'other')).toBe(false);
    expect(isUniqueViolation(withCode('fk', '23503'))).toBe(false);
    expect(isUniqueViolation(null)).toBe(false);
  });
});

describe('openDatabase URLs', () => {
  it('rejects an unknown scheme without echoing the URL', async () => {
    const error = await openDatabase('mysql://root:hunter2@db/app').catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'invalid_argument' });
    expect((error as Error).message).toContain('mysql:');
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('rejects pglite: without a target', async () => {
    await expect(openDatabase('pglite:')).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});
