import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { eventSchemas, isEventType } from '../src/events.ts';

describe('event schemas', () => {
  it('are all versioned dotted names', () => {
    for (const type of Object.keys(eventSchemas)) {
      expect(type).toMatch(/^[a-z]+(\.[a-z_]+)+\.v\d+$/);
    }
  });

  it('accept a valid user.registered.v1 and reject a malformed one', () => {
    const validator = Compile(eventSchemas['user.registered.v1']);
    const ok = {
      user_id: 'usr_01JD3Q5X8B0000000000000000',
      username: 'ada',
      role: 'admin',
      created_at: new Date().toISOString(),
    };
    expect(validator.Check(ok)).toBe(true);
    expect(validator.Check({ ...ok, user_id: 'vid_01JD3Q5X8B0000000000000000' })).toBe(false);
    expect(validator.Check({ ...ok, role: 'root' })).toBe(false);
  });

  it('knows its event types', () => {
    expect(isEventType('user.banned.v1')).toBe(true);
    expect(isEventType('user.deleted.v9')).toBe(false);
  });
});
