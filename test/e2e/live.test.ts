/**
 * Live streaming end to end, with real clients: ffmpeg publishes over RTMP
 * as OBS would, the REST API shows the channel live, hls.js plays it in
 * Chromium, and the faults a streamer causes are survived.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AllInOne } from '../../apps/cli/src/all-in-one.ts';
import { eventually } from '../../packages/kit/test/support/poll.ts';
import { type Api, uniqueName } from './support/api.ts';
import { childFfmpegs, ffprobe, parsePlaylist, publish, transcoders } from './support/live.ts';
import { startTestPlatform, type TestPlatform } from './support/platform.ts';
import { PlayerHarness } from './support/player.ts';

const GRACE_SECONDS = 3;

/** Complete segments after the last EXT-X-DISCONTINUITY; -1 when there is none. */
function afterDiscontinuity(playlist: string): number {
  const at = playlist.search(/^#EXT-X-DISCONTINUITY$(?![\s\S]*^#EXT-X-DISCONTINUITY$)/m);
  if (at < 0) return -1;
  return playlist.slice(at).match(/^#EXTINF/gm)?.length ?? 0;
}

describe('live streaming', () => {
  let test: TestPlatform;
  let dataDir: string;
  let platform: AllInOne;
  let api: Api;
  let player: PlayerHarness;

  beforeAll(async () => {
    test = await startTestPlatform('live', {
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      LIVE_RECONNECT_GRACE_SECONDS: String(GRACE_SECONDS),
      CHANNELS_RECONNECT_GRACE_SECONDS: String(GRACE_SECONDS),
      LIVE_THUMBNAIL_SECONDS: '2',
    });
    ({ platform, api, dataDir } = test);
    player = new PlayerHarness();
    await player.start();
  }, 60_000);

  afterAll(async () => {
    await player?.stop();
    await test?.close();
    // Stopping the service ends every transcoder.
    expect(await transcoders()).toEqual([]);
    for (const p of await childFfmpegs()) process.kill(p.pid, 'SIGKILL');
  });

  /** Earlier tests' broadcasts are over: no transcoder left. */
  const idle = () => eventually(async () => expect(await transcoders()).toEqual([]), 20_000);

  async function streamer() {
    await idle();
    const username = uniqueName('live');
    const reg = await api.post('/v1/auth/register', {
      username,
      email: `${username}@example.com`,
      password: 'correct horse battery',
    });
    expect(reg.status).toBe(201);
    const token = reg.body.access_token as string;
    const channel = await api.get('/v1/me/channel', token);
    expect(channel.status).toBe(200);
    expect(channel.body.ingest_url).toBe(`rtmp://localhost:${platform.rtmpPort}/live`);
    const rtmp = (key: string, app = 'live') => `rtmp://127.0.0.1:${platform.rtmpPort}/${app}/${key}`;
    return { token, name: channel.body.name as string, key: channel.body.stream_key as string, rtmp };
  }

  const liveState = async (name: string) => (await api.get(`/v1/channels/${name}`)).body;

  it('goes live within seconds, lists the channel, and plays in hls.js with several renditions', async () => {
    const s = await streamer();
    await api.patch('/v1/me/channel', { title: 'Chess night', category: 'Games' }, s.token);
    const pub = publish(s.rtmp(s.key));
    try {
      await eventually(async () => expect((await liveState(s.name)).live).toBe(true), 20_000);
      const channel = await liveState(s.name);
      expect(channel.playback_url).toBe(`/live/${s.name}/master.m3u8`);
      const listed = (await api.get('/v1/live')).body.channels.find((c: any) => c.name === s.name);
      expect(listed).toMatchObject({ title: 'Chess night', category: 'Games' });
      expect(Date.parse(listed.started_at)).toBeGreaterThan(Date.now() - 60_000);

      // The master playlist: every rendition with BANDWIDTH, RESOLUTION and CODECS.
      const master = await api.get(`/live/${s.name}/master.m3u8`);
      expect(master.status).toBe(200);
      expect(master.headers.get('cache-control')).toBe('no-cache');
      const variants = parsePlaylist(String(master.body)).playlists;
      expect(variants.length).toBeGreaterThanOrEqual(2);
      for (const v of variants) {
        expect(v.attributes.BANDWIDTH).toBeGreaterThan(0);
        expect(v.attributes.RESOLUTION.height).toBeGreaterThan(0);
        expect(v.attributes.CODECS).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      }
      expect(variants.map((v: any) => v.attributes.RESOLUTION.height)).toEqual([480, 360]);

      // A media playlist: LL-HLS tags, parsed by a third-party parser.
      const mediaPath = `/live/${s.name}/${variants[0].uri}`;
      let media: any;
      await eventually(async () => {
        media = parsePlaylist(String((await api.get(mediaPath)).body));
        expect(media.segments.length).toBeGreaterThanOrEqual(2);
      }, 10_000);
      expect(media.serverControl.canBlockReload).toBe(true);
      expect(media.serverControl.partHoldBack).toBeGreaterThanOrEqual(3 * media.partTargetDuration);
      expect(media.partTargetDuration).toBeGreaterThanOrEqual(0.2);
      expect(media.partTargetDuration).toBeLessThanOrEqual(0.334);
      expect(media.preloadSegment?.preloadHints?.length).toBeGreaterThan(0);
      const complete = media.segments.at(-1);
      expect(complete.dateTimeString).toBeTruthy();
      expect(complete.parts.length).toBeGreaterThan(1);

      // Segments are real fMP4: ffprobe reads init + segment as h264 + aac.
      const base = mediaPath.slice(0, mediaPath.lastIndexOf('/') + 1);
      const init = await fetch(`${platform.url}${base}${complete.map.uri}`).then((r) => r.arrayBuffer());
      const seg = await fetch(`${platform.url}${base}${complete.uri}`);
      expect(seg.headers.get('cache-control')).toContain('immutable');
      const probe = await ffprobe(Buffer.concat([Buffer.from(init), Buffer.from(await seg.arrayBuffer())]));
      expect(probe.streams.map((st: any) => st.codec_name).sort()).toEqual(['aac', 'h264']);

      // A blocking reload for the next segment returns once it exists.
      const next = media.mediaSequence + media.segments.length;
      const started = Date.now();
      const blocked = await api.get(`${mediaPath}?_HLS_msn=${next}&_HLS_part=0`);
      expect(blocked.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(String(blocked.body)).toContain(`part-${next}.0.m4s`);

      // hls.js in Chromium plays it, with every rendition available.
      const page = await player.play(`${platform.url}/live/${s.name}/master.m3u8`);
      let first = -1;
      await eventually(async () => {
        const stats = await PlayerHarness.stats(page);
        expect(stats.events.filter((e) => e.fatal)).toEqual([]);
        if (first < 0 && stats.currentTime > 0) first = stats.currentTime;
        expect(first).toBeGreaterThanOrEqual(0);
        expect(stats.currentTime - first).toBeGreaterThanOrEqual(5);
      }, 30_000);
      const stats = await PlayerHarness.stats(page);
      expect(stats.levels.map((l) => l.height).sort()).toEqual([360, 480]);
      expect(stats.latency).toBeLessThan(5);
      // Renditions switch: force the other one and see the picture size follow.
      const other = stats.levels.findIndex((l) => l.height !== stats.videoHeight);
      await page.evaluate((level) => {
        (globalThis as any).hls.currentLevel = level;
      }, other);
      await eventually(async () => {
        expect((await PlayerHarness.stats(page)).videoHeight).toBe(stats.levels[other]!.height);
      }, 20_000);

      // A player without LL-HLS support plays the same playlists as ordinary HLS.
      const legacy = await player.play(`${platform.url}/live/${s.name}/master.m3u8`, {
        lowLatencyMode: false,
      });
      let legacyFirst = -1;
      await eventually(async () => {
        const st = await PlayerHarness.stats(legacy);
        expect(st.events.filter((e) => e.fatal)).toEqual([]);
        if (legacyFirst < 0 && st.currentTime > 0) legacyFirst = st.currentTime;
        expect(legacyFirst).toBeGreaterThanOrEqual(0);
        expect(st.currentTime - legacyFirst).toBeGreaterThanOrEqual(3);
      }, 30_000);
      await legacy.close();

      // A delta update (what hls.js asked for meanwhile) leaves out what the player already has.
      const full = parsePlaylist(String((await api.get(mediaPath)).body));
      expect(full.serverControl.canSkipUntil).toBeGreaterThanOrEqual(6 * full.targetDuration);
      const delta = parsePlaylist(String((await api.get(`${mediaPath}?_HLS_skip=YES`)).body));
      expect(delta.skip.skippedSegments).toBeGreaterThan(0);
      expect(delta.segments.length).toBeLessThan(full.segments.length);
      expect(delta.segments[0].map.uri).toMatch(/^init-\d+\.mp4$/);

      // The directory shows the viewer and a thumbnail.
      await eventually(async () => {
        const entry = (await api.get('/v1/live')).body.channels.find((c: any) => c.name === s.name);
        expect(entry.viewer_count).toBeGreaterThanOrEqual(1);
        expect(entry.thumbnail_url).toMatch(new RegExp(`^/live/${s.name}/thumbnail\\.jpg`));
      }, 20_000);
      const entry = (await api.get('/v1/live')).body.channels.find((c: any) => c.name === s.name);
      const thumb = await fetch(`${platform.url}${entry.thumbnail_url}`);
      expect(thumb.headers.get('content-type')).toBe('image/jpeg');
      expect((await thumb.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      await page.close();
    } finally {
      await pub.stop();
    }
  }, 120_000);

  it('refuses a wrong key, a rotated key and a wrong application, and writes nothing', async () => {
    const s = await streamer();
    const wrong = publish(s.rtmp(`live_${'x'.repeat(43)}`), { seconds: 5 });
    expect(await wrong.exited).not.toBe(0);
    const app = publish(s.rtmp(s.key, 'other'), { seconds: 5 });
    expect(await app.exited).not.toBe(0);
    const rotated = await api.post('/v1/me/channel/stream-key', undefined, s.token);
    expect(rotated.status).toBe(200);
    expect(rotated.body.stream_key).not.toBe(s.key);
    const old = publish(s.rtmp(s.key), { seconds: 5 });
    expect(await old.exited).not.toBe(0);
    expect((await liveState(s.name)).live).toBe(false);
    expect(await transcoders()).toEqual([]);
    expect((await api.get(`/live/${s.name}/master.m3u8`)).status).toBe(404);
  }, 60_000);

  it('restarts a killed transcoder without ending the session', async () => {
    const s = await streamer();
    const pub = publish(s.rtmp(s.key));
    try {
      await eventually(async () => expect((await liveState(s.name)).live).toBe(true), 20_000);
      const session = (await liveState(s.name)).started_at;
      const mine = async () => {
        const all = await transcoders();
        expect(all.length).toBeGreaterThan(0);
        return all;
      };
      const path = `/live/${s.name}/source/index.m3u8`;
      await eventually(async () => {
        const text = String((await api.get(path)).body);
        expect(text.match(/^#EXTINF/gm)?.length ?? 0).toBeGreaterThanOrEqual(2);
      }, 20_000);
      const pids = await mine();
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      // Playback continues after a short gap, across a discontinuity, in the same session.
      await eventually(async () => {
        const text = String((await api.get(path)).body);
        expect(afterDiscontinuity(text)).toBeGreaterThanOrEqual(2);
      }, 20_000);
      expect((await liveState(s.name)).started_at).toBe(session);
      expect((await transcoders()).some((pid) => !pids.includes(pid))).toBe(true);
    } finally {
      await pub.stop();
    }
  }, 90_000);

  it('keeps the session across a reconnect within the grace, and records it when it ends', async () => {
    const s = await streamer();
    const first = publish(s.rtmp(s.key));
    await eventually(async () => expect((await liveState(s.name)).live).toBe(true), 20_000);
    const started = (await liveState(s.name)).started_at;
    const sessionId = (await api.get('/v1/me/channel', s.token)).body.session_id as string;
    await eventually(async () => {
      const text = String((await api.get(`/live/${s.name}/source/index.m3u8`)).body);
      expect(text.match(/#EXTINF/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    }, 20_000);
    await first.stop('SIGKILL'); // the publisher drops, as a network cut would
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await liveState(s.name)).live).toBe(true); // viewers never see "offline" in the grace
    const second = publish(s.rtmp(s.key));
    try {
      await eventually(async () => {
        const text = String((await api.get(`/live/${s.name}/source/index.m3u8`)).body);
        expect(afterDiscontinuity(text)).toBeGreaterThanOrEqual(2);
      }, 20_000);
      expect((await liveState(s.name)).started_at).toBe(started);
      expect((await api.get('/v1/me/channel', s.token)).body.session_id).toBe(sessionId);
    } finally {
      await second.stop();
    }
    // A clean unpublish ends the session; the recording is in storage and plays.
    await eventually(async () => expect((await liveState(s.name)).live).toBe(false), 20_000);
    const recording = join(dataDir, 'storage', 'recordings', sessionId, 'index.m3u8');
    await eventually(async () => void (await stat(recording)), 10_000);
    const playlist = await readFile(recording, 'utf8');
    expect(playlist).toContain('#EXT-X-ENDLIST');
    expect(playlist).toMatch(/^#EXT-X-DISCONTINUITY$/m);
    const probe = await ffprobe(recording);
    expect(Number(probe.format.duration)).toBeGreaterThan(2);

    // Coming back after the grace starts a new session.
    const third = publish(s.rtmp(s.key));
    try {
      await eventually(async () => expect((await liveState(s.name)).live).toBe(true), 20_000);
      expect((await api.get('/v1/me/channel', s.token)).body.session_id).not.toBe(sessionId);
    } finally {
      await third.stop('SIGKILL');
    }
    // Killed publisher: offline after the grace period.
    const gone = Date.now();
    await eventually(async () => expect((await liveState(s.name)).live).toBe(false), 20_000);
    expect(Date.now() - gone).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000 - 500);
  }, 150_000);
});
