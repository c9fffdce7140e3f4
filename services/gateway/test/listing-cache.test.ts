import { type Cache, openCache } from '@wavecast/kit/cache';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ListingCache, listingKey } from '../src/listing-cache.ts';

describe('ListingCache', () => {
  let cache: Cache;
  beforeEach(async () => {
    cache = await openCache('memory:');
  });
  afterEach(async () => {
    await cache.close();
  });

  it('answers a repeated question from the cache until the entry expires', async () => {
    const listings = new ListingCache(cache, 0.2);
    let loads = 0;
    const load = async () => JSON.stringify({ videos: [], n: ++loads });
    expect(await listings.get({ sort: 1, query: 'cats' }, load)).toBe('{"videos":[],"n":1}');
    expect(await listings.get({ query: 'cats', sort: 1 }, load)).toBe('{"videos":[],"n":1}');
    expect(await listings.get({ sort: 1, query: 'dogs' }, load)).toBe('{"videos":[],"n":2}');
    await new Promise((r) => setTimeout(r, 300));
    expect(await listings.get({ sort: 1, query: 'cats' }, load)).toBe('{"videos":[],"n":3}');
  });

  it('makes one call for concurrent misses of the same listing', async () => {
    const listings = new ListingCache(cache, 5);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 20));
      return '{"videos":[]}';
    };
    const answers = await Promise.all(Array.from({ length: 10 }, () => listings.get({ query: '' }, load)));
    expect(new Set(answers)).toEqual(new Set(['{"videos":[]}']));
    expect(loads).toBe(1);
  });

  it('caches no failure: the next request asks again', async () => {
    const listings = new ListingCache(cache, 5);
    await expect(
      listings.get({ query: 'x' }, async () => {
        throw new Error('catalog unavailable');
      }),
    ).rejects.toThrow('catalog unavailable');
    expect(await listings.get({ query: 'x' }, async () => '{"videos":[]}')).toBe('{"videos":[]}');
  });

  it('is off at 0 seconds', async () => {
    const listings = new ListingCache(cache, 0);
    let loads = 0;
    const load = async () => String(++loads);
    await listings.get({ query: '' }, load);
    await listings.get({ query: '' }, load);
    expect(loads).toBe(2);
  });

  it('keys stay short whatever the search text', () => {
    expect(listingKey({ query: 'x'.repeat(200) }).length).toBeLessThan(70);
    expect(listingKey({ a: 1, b: 2 })).toBe(listingKey({ b: 2, a: 1 }));
    expect(listingKey({ a: 1 })).not.toBe(listingKey({ a: 2 }));
  });
});
