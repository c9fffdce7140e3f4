import { type Cache, openCache } from '@wavecast/kit/cache';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProfileCache } from '../src/profile-cache.ts';

const ada = { id: 'usr_01ADA', username: 'Ada' };
const json = (name: string) => JSON.stringify({ id: ada.id, username: ada.username, display_name: name });

describe('ProfileCache', () => {
  let shared: Cache;
  beforeEach(async () => {
    // The cache port every gateway shares (Redis in production).
    shared = await openCache('memory:');
  });
  afterEach(async () => {
    await shared.close();
  });

  it('keeps what it stored or read near, by id and by username in any case', async () => {
    const profiles = new ProfileCache(shared, 60);
    expect(profiles.peek(ada.id)).toBeUndefined();
    await profiles.put(ada, json('Ada'));
    expect(profiles.peek(ada.id)).toBe(json('Ada'));
    expect(profiles.peek('ada')).toBe(json('Ada'));
    expect(profiles.peek('ADA')).toBe(json('Ada'));

    // Another gateway finds it in the shared cache, then has its own near copy.
    const other = new ProfileCache(shared, 60);
    expect(other.peek(ada.id)).toBeUndefined();
    expect(await other.get(ada.id)).toBe(json('Ada'));
    expect(other.peek(ada.id)).toBe(json('Ada'));
  });

  it('drops both copies on a change, and another gateway sees it once its near copy expires', async () => {
    const near = { seconds: 0.2, entries: 100 };
    const here = new ProfileCache(shared, 60, near);
    const there = new ProfileCache(shared, 60, near);
    await here.put(ada, json('Ada'));
    expect(await there.get(ada.id)).toBe(json('Ada'));

    // The change event reaches one gateway of the group: this one.
    await here.drop(ada.id, ada.username);
    expect(here.peek(ada.id)).toBeUndefined();
    expect(await here.get(ada.id)).toBeNull();
    await here.put(ada, json('Ada L.'));

    // The other answers from its near copy for at most `near.seconds`, then reads the new one.
    expect(there.peek(ada.id)).toBe(json('Ada'));
    await new Promise((r) => setTimeout(r, 300));
    expect(there.peek(ada.id)).toBeUndefined();
    expect(await there.get(ada.id)).toBe(json('Ada L.'));
  });

  it('keeps at most `entries` profiles near', async () => {
    const profiles = new ProfileCache(shared, 60, { seconds: 60, entries: 4 });
    for (let n = 0; n < 10; n++) await profiles.put({ id: `usr_${n}`, username: `user${n}` }, `{"n":${n}}`);
    // Two keys per profile: the last two profiles are near, the rest only in the shared cache.
    expect(profiles.peek('usr_9')).toBe('{"n":9}');
    expect(profiles.peek('user8')).toBe('{"n":8}');
    expect(profiles.peek('usr_0')).toBeUndefined();
    expect(await profiles.get('usr_0')).toBe('{"n":0}');
  });

  it('caches nothing, near or shared, when the TTL is 0', async () => {
    const profiles = new ProfileCache(shared, 0);
    await profiles.put(ada, json('Ada'));
    expect(profiles.peek(ada.id)).toBeUndefined();
    expect(await profiles.get(ada.id)).toBeNull();
    expect(await shared.get(profiles.key(ada.id))).toBeNull();
  });
});
