/**
 * Videos through the RPC API, on PGlite + memory and on PostgreSQL + Redis:
 * creation and validation, who sees what, owner-only changes, deletion and
 * its event, upload authorization, and view counting.
 */
import { VideoStatus, Visibility } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/kit/test/support/poll.ts';
import {
  backends,
  createVideo,
  failed,
  type Harness,
  makeReady,
  newOwner,
  openHarness,
  uploaded,
} from './support/harness.ts';

describe.each(backends)('videos on $name', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(backend, { viewWindowSeconds: 60 });
  });
  afterAll(() => h?.close());

  it('creates a DRAFT video with normalised metadata', async () => {
    const owner = newOwner();
    const { video } = await h.client.createVideo({
      ownerId: owner,
      title: '  My first video  ',
      description: 'Line one\nline two\twith a tab',
      tags: ['Cats', ' cats ', 'FUNNY', '', 'funny', 'Été'],
      visibility: Visibility.UNLISTED,
    });
    expect(video).toMatchObject({
      ownerId: owner,
      title: 'My first video',
      description: 'Line one\nline two\twith a tab',
      tags: ['cats', 'funny', 'été'],
      visibility: Visibility.UNLISTED,
      status: VideoStatus.DRAFT,
      progress: 0,
      viewCount: 0n,
      renditions: [],
    });
    expect(video?.id).toMatch(/^vid_[0-9A-Z]{26}$/);
    expect(video?.playback).toBeUndefined();
    expect(video?.publishedAt).toBeUndefined();
    const unspecified = await h.client.createVideo({ ownerId: owner, title: 'x' });
    expect(unspecified.video?.visibility).toBe(Visibility.PUBLIC);
  });

  it('names every bad field', async () => {
    await expect(
      h.client.createVideo({
        ownerId: 'bob',
        title: 't'.repeat(101),
        description: 'd'.repeat(5001),
        tags: Array.from({ length: 16 }, (_, i) => `tag${i}`),
      }),
    ).rejects.toMatchObject({
      code: 'invalid_argument',
      fields: [
        { field: 'owner_id', message: 'must be a usr_… id' },
        { field: 'title', message: 'must be at most 100 characters' },
        { field: 'description', message: 'must be at most 5000 characters' },
        { field: 'tags', message: 'must be at most 15 tags' },
      ],
    });
    const owner = newOwner();
    await expect(h.client.createVideo({ ownerId: owner, title: '   ' })).rejects.toMatchObject({
      fields: [{ field: 'title', message: 'must not be empty' }],
    });
    await expect(h.client.createVideo({ ownerId: owner, title: 'a\nb' })).rejects.toMatchObject({
      fields: [{ field: 'title', message: expect.stringContaining('one line') }],
    });
    await expect(
      h.client.createVideo({ ownerId: owner, title: 'ok', tags: ['x'.repeat(31)], description: 'a\u0007' }),
    ).rejects.toMatchObject({
      fields: [
        { field: 'description', message: 'must not contain control characters' },
        { field: 'tags', message: 'must each be at most 30 characters' },
      ],
    });
    // Repeats collapse before counting: 20 spellings of 15 tags are fine.
    const many = Array.from({ length: 15 }, (_, i) => `t${i}`);
    const { video } = await h.client.createVideo({
      ownerId: owner,
      title: 'ok',
      tags: [...many, 'T0', 'T1', 'T2', 'T3', 'T4'],
    });
    expect(video?.tags).toEqual(many);
  });

  it('shows a video to its owner in any state, and to others only READY and not private', async () => {
    const owner = newOwner();
    const stranger = newOwner();
    const pub = await createVideo(h, owner, { visibility: Visibility.PUBLIC });
    const unl = await createVideo(h, owner, { visibility: Visibility.UNLISTED });
    const prv = await createVideo(h, owner, { visibility: Visibility.PRIVATE });
    for (const v of [pub, unl, prv]) {
      expect((await h.client.getVideo({ videoId: v.id, viewerId: owner })).video?.status).toBe(
        VideoStatus.DRAFT,
      );
      // Not READY: nobody else learns it exists.
      for (const viewerId of ['', stranger]) {
        await expect(h.client.getVideo({ videoId: v.id, viewerId })).rejects.toMatchObject({
          code: 'not_found',
        });
      }
      await makeReady(h, v.id, owner);
    }
    for (const viewerId of ['', stranger]) {
      expect((await h.client.getVideo({ videoId: pub.id, viewerId })).video?.status).toBe(VideoStatus.READY);
      expect((await h.client.getVideo({ videoId: unl.id, viewerId })).video?.status).toBe(VideoStatus.READY);
      await expect(h.client.getVideo({ videoId: prv.id, viewerId })).rejects.toMatchObject({
        code: 'not_found',
      });
    }
    for (const videoId of ['vid_01ARZ3NDEKTSV4RRFFQ69G5FAV', 'nope', '', '../x']) {
      await expect(h.client.getVideo({ videoId, viewerId: owner }), videoId).rejects.toMatchObject({
        code: 'not_found',
      });
    }
  });

  it('gives READY videos playback URLs: plain when public, signed and expiring otherwise', async () => {
    const owner = newOwner();
    const pub = await createVideo(h, owner, { visibility: Visibility.PUBLIC });
    const prv = await createVideo(h, owner, { visibility: Visibility.PRIVATE });
    await makeReady(h, pub.id, owner);
    await makeReady(h, prv.id, owner);
    const open = (await h.client.getVideo({ videoId: pub.id })).video!;
    expect(open.playback).toMatchObject({
      hlsUrl: `/media/videos/${pub.id}/master.m3u8`,
      dashUrl: `/media/videos/${pub.id}/manifest.mpd`,
      posterUrl: `/media/videos/${pub.id}/poster.jpg`,
      storyboardUrl: `/media/videos/${pub.id}/storyboard.jpg`,
      storyboard: { columns: 5, rows: 5, tileWidth: 160, tileHeight: 90, intervalSeconds: 2 },
    });
    expect(open.playback?.expiresAt).toBeUndefined();
    expect(open).toMatchObject({ durationSeconds: 12.48, progress: 100 });
    expect(open.renditions.map((r) => r.name)).toEqual(['720p', '360p']);
    expect(open.publishedAt).toBeDefined();

    const own = (await h.client.getVideo({ videoId: prv.id, viewerId: owner })).video!;
    const signed = /^\/media\/t\/(\d+)\.([A-Za-z0-9_-]{43})\/videos\/(vid_\w+)\/master\.m3u8$/.exec(
      own.playback!.hlsUrl,
    );
    expect(signed?.[3]).toBe(prv.id);
    const exp = Number(signed![1]);
    expect(Number(own.playback!.expiresAt!.seconds)).toBe(exp);
    expect(exp - Date.now() / 1000).toBeGreaterThan(3590);
    expect(own.playback!.dashUrl).toBe(`/media/t/${signed![1]}.${signed![2]}/videos/${prv.id}/manifest.mpd`);
  });

  it('lets only the owner change a video; a stranger is refused, or not told a private one exists', async () => {
    const owner = newOwner();
    const stranger = newOwner();
    const v = await createVideo(h, owner, { title: 'Before', tags: ['a'] });
    const { video } = await h.client.updateVideo({
      videoId: v.id,
      actorId: owner,
      title: ' After ',
      description: 'Now with words',
      visibility: Visibility.UNLISTED,
    });
    expect(video).toMatchObject({
      title: 'After',
      description: 'Now with words',
      tags: ['a'],
      visibility: Visibility.UNLISTED,
    });
    const tagged = await h.client.updateVideo({
      videoId: v.id,
      actorId: owner,
      setTags: true,
      tags: ['B', 'b'],
    });
    expect(tagged.video?.tags).toEqual(['b']);
    const cleared = await h.client.updateVideo({ videoId: v.id, actorId: owner, setTags: true, tags: [] });
    expect(cleared.video).toMatchObject({ tags: [], title: 'After' });
    await expect(h.client.updateVideo({ videoId: v.id, actorId: owner, title: '' })).rejects.toMatchObject({
      code: 'invalid_argument',
      fields: [{ field: 'title' }],
    });

    // A DRAFT is its owner's business alone; READY and public, strangers may see but not touch it.
    await expect(
      h.client.updateVideo({ videoId: v.id, actorId: stranger, title: 'x' }),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
    await makeReady(h, v.id, owner);
    await expect(
      h.client.updateVideo({ videoId: v.id, actorId: stranger, title: 'x' }),
    ).rejects.toMatchObject({
      code: 'permission_denied',
    });
    await expect(h.client.deleteVideo({ videoId: v.id, actorId: stranger })).rejects.toMatchObject({
      code: 'permission_denied',
    });
    await h.client.updateVideo({ videoId: v.id, actorId: owner, visibility: Visibility.PRIVATE });
    await expect(h.client.deleteVideo({ videoId: v.id, actorId: stranger })).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('deletes a video and emits video.deleted.v1 with its source', async () => {
    const owner = newOwner();
    const v = await createVideo(h, owner);
    await h.instance.pipeline.onUploaded(uploaded(v.id, owner));
    await h.client.deleteVideo({ videoId: v.id, actorId: owner });
    await expect(h.client.getVideo({ videoId: v.id, viewerId: owner })).rejects.toMatchObject({
      code: 'not_found',
    });
    await eventually(async () => {
      expect(h.publishedOf('video.deleted.v1').filter((e) => e.video_id === v.id)).toEqual([
        {
          video_id: v.id,
          owner_id: owner,
          source_key: `uploads/${v.id}/source`,
          deleted_at: expect.any(String),
        },
      ]);
    });
    await expect(h.client.deleteVideo({ videoId: v.id, actorId: owner })).rejects.toMatchObject({
      code: 'not_found',
    });
    // Without a file yet, the event says so.
    const draft = await createVideo(h, owner);
    await h.client.deleteVideo({ videoId: draft.id, actorId: owner });
    await eventually(async () => {
      expect(h.publishedOf('video.deleted.v1').find((e) => e.video_id === draft.id)?.source_key).toBeNull();
    });
  });

  it('authorizes the owner to upload into a DRAFT, or again after a failed upload', async () => {
    const owner = newOwner();
    const v = await createVideo(h, owner);
    expect(await h.client.authorizeUpload({ videoId: v.id, actorId: owner })).toMatchObject({
      sourceKey: `uploads/${v.id}/source`,
    });
    // Another user's video: refused as such (403 at the edge).
    await expect(h.client.authorizeUpload({ videoId: v.id, actorId: newOwner() })).rejects.toMatchObject({
      code: 'permission_denied',
    });
    await h.instance.pipeline.onFailed(failed(v.id, 'upload', 'not a video file'));
    const failedVideo = (await h.client.getVideo({ videoId: v.id, viewerId: owner })).video!;
    expect(failedVideo).toMatchObject({ status: VideoStatus.FAILED, failureReason: 'not a video file' });
    await h.client.authorizeUpload({ videoId: v.id, actorId: owner });
    expect((await h.client.getVideo({ videoId: v.id, viewerId: owner })).video).toMatchObject({
      status: VideoStatus.DRAFT,
      failureReason: '',
    });
    await h.instance.pipeline.onUploaded(uploaded(v.id, owner));
    await expect(h.client.authorizeUpload({ videoId: v.id, actorId: owner })).rejects.toMatchObject({
      code: 'failed_precondition',
    });
    // An encode failure is final: no second upload.
    const broken = await createVideo(h, owner);
    await h.instance.pipeline.onUploaded(uploaded(broken.id, owner));
    await h.instance.pipeline.onFailed(failed(broken.id, 'encode', 'ffmpeg gave up'));
    await expect(h.client.authorizeUpload({ videoId: broken.id, actorId: owner })).rejects.toMatchObject({
      code: 'failed_precondition',
    });
  });

  it('counts a view once per viewer session per window', async () => {
    const owner = newOwner();
    const v = await createVideo(h, owner);
    await expect(h.client.recordView({ videoId: v.id, viewerSession: 's1' })).rejects.toMatchObject({
      code: 'not_found',
    });
    await makeReady(h, v.id, owner);
    const views = await Promise.all(
      ['s1', 's1', 's2', 's1', 's2', 's3'].map((viewerSession) =>
        h.client.recordView({ videoId: v.id, viewerSession }),
      ),
    );
    expect(views.filter((r) => r.counted)).toHaveLength(3);
    expect((await h.client.getVideo({ videoId: v.id })).video?.viewCount).toBe(3n);
    const again = await h.client.recordView({ videoId: v.id, viewerSession: 's2' });
    expect(again).toMatchObject({ counted: false, viewCount: 3n });
    await expect(h.client.recordView({ videoId: v.id, viewerSession: '' })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    // Another video is another count.
    const w = await createVideo(h, owner);
    await makeReady(h, w.id, owner);
    expect(await h.client.recordView({ videoId: w.id, viewerSession: 's1' })).toMatchObject({
      counted: true,
      viewCount: 1n,
    });
  });

  it('lists the owner’s own videos in any state, newest first, page by page', async () => {
    const owner = newOwner();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createVideo(h, owner, { title: `v${i}` })).id);
    await makeReady(h, ids[1]!, owner);
    await createVideo(h, newOwner());
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await h.client.listOwnVideos({ ownerId: owner, pageSize: 2, pageToken });
      seen.push(...page.videos.map((v) => v.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual([...ids].reverse());
    await expect(h.client.listOwnVideos({ ownerId: owner, pageToken: 'garbage' })).rejects.toMatchObject({
      code: 'invalid_argument',
      fields: [{ field: 'page_token' }],
    });
  });
});

describe.each(backends)('view window on $name', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(backend, { viewWindowSeconds: 1 });
  });
  afterAll(() => h?.close());

  it('counts the same viewer session again once its window has passed', async () => {
    const owner = newOwner();
    const v = await createVideo(h, owner);
    await makeReady(h, v.id, owner);
    expect((await h.client.recordView({ videoId: v.id, viewerSession: 's' })).counted).toBe(true);
    expect((await h.client.recordView({ videoId: v.id, viewerSession: 's' })).counted).toBe(false);
    await eventually(async () => {
      expect(await h.client.recordView({ videoId: v.id, viewerSession: 's' })).toMatchObject({
        counted: true,
        viewCount: 2n,
      });
    }, 5_000);
  });
});
