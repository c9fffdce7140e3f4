/**
 * The public catalog, on PGlite + memory and on PostgreSQL + Redis: only
 * public READY videos, full-text search over title, tags and description
 * (title matches first), orders, and keyset pages that stay put while
 * videos come and go.
 */
import { Sort, Visibility } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createVideo, type Harness, makeReady, newOwner, openHarness } from './support/harness.ts';

describe.each(backends)('public catalog on $name', (backend) => {
  let h: Harness;
  const owner = newOwner();
  // A word no other test uses, so each test searches its own videos.
  let n = 0;
  const word = () => `w${Date.now().toString(36)}x${++n}`;

  beforeAll(async () => {
    h = await openHarness(backend);
  });
  afterAll(() => h?.close());

  async function ready(fields: Parameters<typeof createVideo>[2]) {
    const v = await createVideo(h, owner, fields);
    await makeReady(h, v.id, owner);
    return v.id;
  }

  async function all(req: { query?: string; sort?: Sort; pageSize?: number }): Promise<string[]> {
    const ids: string[] = [];
    let pageToken = '';
    do {
      const page = await h.client.listVideos({ ...req, pageToken });
      ids.push(...page.videos.map((v) => v.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    return ids;
  }

  it('finds words of the title, the tags and the description, title matches first', async () => {
    const w = word();
    const inDescription = await ready({ title: 'Something else', description: `all about ${w} here` });
    const inTitle = await ready({ title: `The ${w} show` });
    const inTags = await ready({ title: 'Tagged', tags: [w, 'other'] });
    const notPublic = await createVideo(h, owner, {
      title: `${w} unlisted`,
      visibility: Visibility.UNLISTED,
    });
    await makeReady(h, notPublic.id, owner);
    await createVideo(h, owner, { title: `${w} still a draft` });
    const page = await h.client.listVideos({ query: w });
    expect(page.videos.map((v) => v.id)).toEqual([inTitle, inTags, inDescription]);
    expect(page.nextPageToken).toBe('');
    // Case does not matter; unknown words find nothing.
    expect((await h.client.listVideos({ query: w.toUpperCase() })).videos).toHaveLength(3);
    expect((await h.client.listVideos({ query: `${w}zzz` })).videos).toEqual([]);
  });

  it('understands web search syntax: phrases, OR and exclusions', async () => {
    const w = word();
    const a = await ready({ title: `${w} cooking pasta` });
    const b = await ready({ title: `pasta cooking ${w}` });
    const c = await ready({ title: `${w} cats`, tags: ['pets'] });
    expect(new Set(await all({ query: `${w} "cooking pasta"` }))).toEqual(new Set([a]));
    expect(new Set(await all({ query: `${w} -cats` }))).toEqual(new Set([a, b]));
    expect(new Set(await all({ query: `${w} pets or pasta` }))).toEqual(new Set([a, b, c]));
    expect(new Set(await all({ query: `${w} ${w}` }))).toEqual(new Set([a, b, c]));
    // Syntax that means nothing is still a query, never an error.
    expect(await all({ query: `${w} & | ! :* (` })).toHaveLength(3);
  });

  it('orders by newest or by views, and search results by either on request', async () => {
    const w = word();
    const first = await ready({ title: `${w} one` });
    const second = await ready({ title: `${w} two` });
    const third = await ready({ title: `${w} three` });
    for (const [id, views] of [
      [first, 3],
      [third, 1],
    ] as const) {
      for (let i = 0; i < views; i++) await h.client.recordView({ videoId: id, viewerSession: `s${i}` });
    }
    expect(await all({ query: w, sort: Sort.NEW })).toEqual([third, second, first]);
    expect(await all({ query: w, sort: Sort.VIEWS })).toEqual([first, third, second]);
    const newest = await h.client.listVideos({ pageSize: 3 });
    expect(newest.videos.map((v) => v.id)).toEqual([third, second, first]);
  });

  it('pages through a listing without repeats or gaps while videos come and go', async () => {
    const w = word();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await ready({ title: `${w} ${i}`, tags: ['page'] }));
    const expected = [...ids].reverse();
    for (const sort of [Sort.NEW, Sort.VIEWS, Sort.UNSPECIFIED]) {
      const seen: string[] = [];
      let pageToken = '';
      let pages = 0;
      do {
        const page = await h.client.listVideos({ query: w, sort, pageSize: 3, pageToken });
        seen.push(...page.videos.map((v) => v.id));
        pageToken = page.nextPageToken;
        if (pages++ === 0) {
          // A new video and a deleted one between pages move nothing that is left to read.
          await ready({ title: `${w} late`, tags: ['page'] });
          const gone = await createVideo(h, owner, { title: `${w} gone` });
          await makeReady(h, gone.id, owner);
          await h.client.deleteVideo({ videoId: gone.id, actorId: owner });
        }
      } while (pageToken);
      const original = seen.filter((id) => ids.includes(id));
      expect(new Set(seen).size, `sort ${sort}`).toBe(seen.length);
      if (sort === Sort.UNSPECIFIED) expect(new Set(original)).toEqual(new Set(ids));
      else expect(original).toEqual(expected);
    }
  });

  it('refuses a page token of another listing', async () => {
    const w = word();
    for (let i = 0; i < 3; i++) await ready({ title: `${w} ${i}` });
    const page = await h.client.listVideos({ query: w, sort: Sort.NEW, pageSize: 1 });
    expect(page.nextPageToken).not.toBe('');
    await expect(
      h.client.listVideos({ query: w, sort: Sort.VIEWS, pageToken: page.nextPageToken }),
    ).rejects.toMatchObject({ code: 'invalid_argument', fields: [{ field: 'page_token' }] });
    for (const pageToken of ['x', Buffer.from('["public:new",1,"vid_x"]').toString('base64url')]) {
      await expect(h.client.listVideos({ pageToken })).rejects.toMatchObject({ code: 'invalid_argument' });
    }
  });
});
