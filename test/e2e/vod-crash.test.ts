/**
 * Crash safety of the VOD pipeline with every service in its own process
 * (`wavecast start users|auth|catalog|uploads|encoder|gateway`) on
 * PostgreSQL, Redis and RabbitMQ: competing encoder workers, `kill -9` of an
 * encoder mid-encode, of the uploads service mid-upload and of the catalog
 * while the pipeline runs, a broker connection lost during an encode, and a
 * poison file dead-lettered beside a healthy upload. End states are read
 * through the public API, the storage, the bus (a group of the test's own
 * that sees every pipeline event) and the services' JSON logs.
 *
 * Storage: every process shares one `file:` directory. These videos arrive
 * the way clients send them, with tus through the gateway, and
 * `@tus/s3-store` lists the parts of the multipart upload on every PATCH
 * (ListParts), which s3rver does not implement (services/uploads/docs/
 * uploads.md), so tus cannot run on the tests' S3. The last suite runs the
 * encoder crash on S3 (s3rver), with the source put in the bucket by the
 * test the way the uploads service does it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSchemas } from '../../contracts/src/events.ts';
import { openBus } from '../../packages/kit/src/bus/open.ts';
import type { Bus, Envelope } from '../../packages/kit/src/bus.ts';
import { typedEvents } from '../../packages/kit/src/events.ts';
import { openStorage, type Storage } from '../../packages/kit/src/storage.ts';
import { withChannel } from '../../packages/kit/test/support/bus.ts';
import { type S3Fixture, startS3 } from '../../packages/kit/test/support/s3.ts';
import { closedPort, startTcpProxy, type TcpProxy } from '../../packages/kit/test/support/tcp-proxy.ts';
import { Api, uniqueName } from './support/api.ts';
import { createInfra, type Infra } from './support/infra.ts';
import { type Proc, stopAll, waitForHttp, wavecast } from './support/processes.ts';
import {
  type LogLine,
  logLines,
  makeClip,
  makePoison,
  processesMentioning,
  readObject,
  referencedOutputs,
  storedOutputs,
  type TusRequestRecord,
  tusUpload,
  until,
} from './support/vod.ts';

/** Quick encodes: one rendition of a 320x180 source, two of a 640x360 one. */
const FAST = { ENCODER_PRESET: 'ultrafast', ENCODER_LADDER: '360:800,240:400' };
/** Encodes that last long enough (about 10 s of a 6 s 640x360 clip on two cores) to be interrupted. */
const SLOW = { ENCODER_PRESET: 'slower', ENCODER_LADDER: '360:800,240:400,180:250' };
/** Every group the started services (and the test) consume from: their queues are removed afterwards. */
const GROUPS = [
  'auth',
  'gateway.profiles',
  'catalog',
  'uploads',
  'encoder',
  'encoder.cleanup',
  'test.observer',
];
const PIPELINE_EVENTS = ['video.uploaded.v1', 'video.progress.v1', 'video.encoded.v1', 'video.failed.v1'];

interface Seen {
  type: string;
  data: { video_id: string; [key: string]: unknown };
  attempt: number;
  at: number;
}

interface Launch {
  service: string;
  name: string;
  env: Record<string, string>;
  readyUrl: string;
}

interface Worker {
  proc: Proc;
  /** ENCODER_TMP_DIR */
  tmpDir: string;
  /** Work directories left there by a killed predecessor. */
  stale: Set<string>;
}

/** The work directories of encode jobs in an encoder's ENCODER_TMP_DIR. */
async function jobDirs(tmpDir: string): Promise<string[]> {
  return (await readdir(tmpDir)).filter((d) => d.startsWith('wavecast-encode-'));
}

interface VideoView {
  id: string;
  owner_id: string;
  status: string;
  progress: number;
  failure_reason: string | null;
  updated_at: string;
  published_at: string | null;
  renditions: { height: number }[];
  playback: { hls_url: string; dash_url: string } | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const report = (scenario: string, facts: Record<string, unknown>) =>
  console.info(`[vod-crash] ${scenario}: ${JSON.stringify(facts)}`);

/**
 * One platform for a suite: users, auth, catalog, uploads and the gateway as
 * their own processes, encoders started by each test, and the test's eyes
 * (API client, storage, an observing bus group).
 */
class Platform {
  infra!: Infra;
  storage!: Storage;
  storageUrl = '';
  bus!: Bus;
  readonly seen: Seen[] = [];
  api!: Api;
  token = '';
  shared: Record<string, string> = {};
  readonly launches = new Map<Proc, Launch>();
  /** Every catalog process, the killed ones too: their logs count the transitions applied. */
  readonly catalogs: Proc[] = [];
  catalog!: Proc;
  uploads!: Proc;
  gatewayUrl = '';
  playbackSecret = randomBytes(32).toString('base64');
  workDir = '';

  async start(opts: { storageUrl: string; workDir: string; uploads: boolean }): Promise<void> {
    this.workDir = opts.workDir;
    this.storageUrl = opts.storageUrl;
    this.infra = await createInfra();
    this.storage = await openStorage(opts.storageUrl);
    const [usersRpc, usersOps, authRpc, authOps, catalogRpc, catalogOps, uploadsHttp, uploadsOps, http] =
      await Promise.all(Array.from({ length: 9 }, () => closedPort()));
    this.shared = {
      DATABASE_URL: this.infra.db.url,
      CACHE_URL: this.infra.redisUrl,
      CACHE_PREFIX: this.infra.cachePrefix,
      BUS_URL: this.infra.amqpUrl,
      BUS_PREFIX: this.infra.busPrefix,
      STORAGE_URL: opts.storageUrl,
      HOST: '127.0.0.1',
      USERS_RPC_TARGET: `http://127.0.0.1:${usersRpc}`,
      AUTH_RPC_TARGET: `http://127.0.0.1:${authRpc}`,
      CATALOG_RPC_TARGET: `http://127.0.0.1:${catalogRpc}`,
    };
    // The test sees every pipeline event, as one more consuming group would.
    this.bus = await openBus(this.infra.amqpUrl, { prefix: this.infra.busPrefix });
    await this.bus.subscribe('test.observer', PIPELINE_EVENTS, async (e: Envelope) => {
      this.seen.push({ type: e.type, data: e.data as Seen['data'], attempt: e.attempt, at: Date.now() });
    });
    const ops = (port: number | undefined) => `http://127.0.0.1:${port}/readyz`;
    await Promise.all([
      this.launch({
        service: 'users',
        name: 'users',
        env: { ...this.shared, RPC_PORT: String(usersRpc), OPS_PORT: String(usersOps) },
        readyUrl: ops(usersOps),
      }),
      this.launch({
        service: 'auth',
        name: 'auth',
        env: { ...this.shared, RPC_PORT: String(authRpc), OPS_PORT: String(authOps) },
        readyUrl: ops(authOps),
      }),
      this.launch({
        service: 'catalog',
        name: 'catalog',
        env: {
          ...this.shared,
          RPC_PORT: String(catalogRpc),
          OPS_PORT: String(catalogOps),
          CATALOG_PLAYBACK_SECRET: this.playbackSecret,
          // The reconciler stays out of the way: a re-driven video would add a legitimate
          // second video.encoded.v1 and blur "exactly once".
          CATALOG_RECONCILE_INTERVAL_SECONDS: '60',
          CATALOG_STUCK_AFTER_SECONDS: '600',
          LOG_LEVEL: 'info',
        },
        readyUrl: ops(catalogOps),
      }).then((p) => {
        this.catalog = p;
        this.catalogs.push(p);
      }),
    ]);
    if (opts.uploads) {
      this.uploads = await this.launch({
        service: 'uploads',
        name: 'uploads',
        env: {
          ...this.shared,
          UPLOADS_HTTP_PORT: String(uploadsHttp),
          OPS_PORT: String(uploadsOps),
          UPLOADS_MAX_BYTES: String(64 * 1024 * 1024),
        },
        readyUrl: ops(uploadsOps),
      });
    }
    await this.launch({
      service: 'gateway',
      name: 'gateway',
      env: {
        ...this.shared,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(http),
        UPLOADS_TARGET: `http://127.0.0.1:${uploadsHttp}`,
        CATALOG_PLAYBACK_SECRET: this.playbackSecret,
        AUTH_RATE_LIMIT_PER_MINUTE: '10000',
        RATE_LIMIT_PER_MINUTE: '0',
      },
      readyUrl: `http://127.0.0.1:${http}/readyz`,
    });
    this.gatewayUrl = `http://127.0.0.1:${http}`;
    this.api = new Api(this.gatewayUrl);
    const username = uniqueName('vodcrash');
    const reg = await this.api.post('/v1/auth/register', {
      username,
      email: `${username}@example.com`,
      password: 'correct horse battery',
    });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    this.token = reg.body.access_token;
  }

  async close(): Promise<void> {
    await stopAll();
    await this.bus?.close();
    await this.storage?.close();
    await this.infra?.cleanup(GROUPS);
  }

  /** Starts a process and waits until it is ready. */
  async launch(l: Launch): Promise<Proc> {
    const proc = wavecast(l.name, ['start', l.service], l.env);
    this.launches.set(proc, l);
    await waitForHttp(proc, l.readyUrl, 60_000);
    return proc;
  }

  /** The same process again: same name, ports and environment. */
  relaunch(proc: Proc): Promise<Proc> {
    const l = this.launches.get(proc);
    if (!l) throw new Error(`${proc.name} was not started by launch()`);
    return this.launch(l);
  }

  /** `kill -9`, and waits until it is gone. */
  async kill9(proc: Proc): Promise<number> {
    proc.child.kill('SIGKILL');
    await proc.exited;
    await proc.stop(); // forgets it
    return Date.now();
  }

  async killCatalog(): Promise<number> {
    return this.kill9(this.catalog);
  }

  async restartCatalog(): Promise<void> {
    this.catalog = await this.relaunch(this.catalog);
    this.catalogs.push(this.catalog);
  }

  /** Restarts the catalog if a failed test left it dead. */
  async ensureCatalog(): Promise<void> {
    const { child } = this.catalog;
    if (child.exitCode === null && child.signalCode === null) return;
    await this.catalog.stop();
    await this.restartCatalog();
  }

  /** An encoder worker with its own work directory and ops port. */
  async startEncoder(name: string, env: Record<string, string>): Promise<Worker> {
    const tmpDir = join(this.workDir, `encoder-${name}`);
    await mkdir(tmpDir, { recursive: true });
    const opsPort = await closedPort();
    const proc = await this.launch({
      service: 'encoder',
      name: `encoder-${name}`,
      env: {
        ...this.shared,
        OPS_PORT: String(opsPort),
        ENCODER_TMP_DIR: tmpDir,
        ENCODER_RETRY_BACKOFF_MS: '1000',
        ENCODER_MAX_ATTEMPTS: '3',
        LOG_LEVEL: 'info',
        ...env,
      },
      readyUrl: `http://127.0.0.1:${opsPort}/readyz`,
    });
    return { proc, tmpDir, stale: new Set() };
  }

  /** The same worker started again after it died: what its dead jobs left in its work directory is stale. */
  async restartEncoder(dead: Worker): Promise<Worker> {
    const stale = new Set(await jobDirs(dead.tmpDir));
    return { proc: await this.relaunch(dead.proc), tmpDir: dead.tmpDir, stale };
  }

  get endpoint(): string {
    return `${this.gatewayUrl}/v1/uploads/`;
  }

  async createVideo(title: string): Promise<string> {
    const res = await this.api.post('/v1/videos', { title, visibility: 'public' }, this.token);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.video.id as string;
  }

  async video(id: string): Promise<VideoView> {
    const res = await this.api.get<VideoView>(`/v1/videos/${id}`, this.token);
    if (res.status !== 200) throw new Error(`GET /v1/videos/${id} answered ${res.status}`);
    return res.body;
  }

  /** Polls the API until `ok(video)`; a video that failed (unless that is awaited) fails at once. */
  async waitFor(id: string, what: string, ok: (v: VideoView) => boolean, ms: number): Promise<VideoView> {
    const deadline = Date.now() + ms;
    let last: VideoView | string = 'no answer yet';
    for (;;) {
      try {
        const v = await this.video(id);
        last = v;
        if (ok(v)) return v;
        if (v.status === 'failed' && what !== 'failed') {
          throw new Error(`${id} failed while waiting for ${what}: ${v.failure_reason}`);
        }
      } catch (err) {
        if ((err as Error).message.includes('failed while waiting')) throw err;
        last = (err as Error).message;
      }
      if (Date.now() > deadline) {
        throw new Error(`${id} not ${what} within ${ms} ms; last seen: ${JSON.stringify(last)}`);
      }
      await sleep(200);
    }
  }

  waitStatus(id: string, status: string, ms: number): Promise<VideoView> {
    return this.waitFor(id, status, (v) => v.status === status, ms);
  }

  eventsOf(type: string, id: string): Seen[] {
    return this.seen.filter((e) => e.type === type && e.data.video_id === id);
  }

  /** Messages ready in a group's queue (not counting those a consumer holds). */
  waiting(group: string): Promise<number> {
    return withChannel(async (ch) => (await ch.checkQueue(this.infra.busPrefix + group)).messageCount);
  }

  /** How many times the catalog applied `event` to the video (it logs each transition it makes). */
  applied(event: string, id: string): number {
    return logLines(...this.catalogs).filter(
      (l) => l.msg === 'video status applied' && l.event === event && l.videoId === id,
    ).length;
  }

  /**
   * Waits until the pipeline is quiet: nothing ready in the catalog's and
   * the encoder's queues, and no job in progress in any of `workers` (a job
   * holds a work directory from its start to its end).
   */
  async settle(...workers: Worker[]): Promise<void> {
    await until(
      'the pipeline goes quiet',
      async () => {
        const [catalog, encoder] = await Promise.all([this.waiting('catalog'), this.waiting('encoder')]);
        if (catalog + encoder > 0) throw new Error(`catalog ${catalog}, encoder ${encoder} waiting`);
        for (const w of workers) {
          const busy = (await jobDirs(w.tmpDir)).filter((d) => !w.stale.has(d));
          if (busy.length > 0) throw new Error(`${w.proc.name} still works on ${busy.join(', ')}`);
        }
      },
      120_000,
    );
  }

  /** The outputs stored for a READY video are exactly those its manifests and marker name. */
  async expectExactOutputs(id: string): Promise<string[]> {
    const referenced = await referencedOutputs(this.storage, id);
    expect(await storedOutputs(this.storage, id)).toEqual(referenced);
    return referenced;
  }
}

const encoderLog = (lines: LogLine[], msg: string, id: string) =>
  lines.filter((l) => l.msg === msg && l.videoId === id);

/** ffmpeg processes (not their watchdog shells) whose command line names `dir`. */
async function ffmpegsIn(dir: string) {
  return (await processesMentioning(dir)).filter((p) => /^\S*ffmpeg\s/.test(p.args));
}

/**
 * `kill -9` of an encoder while its ffmpeg runs, then the same worker again:
 * no process of the killed one may remain, and the video must end READY
 * exactly once with exactly the outputs its manifests name, whatever the
 * dead attempt left in storage. `submit` gets the source to the pipeline.
 */
async function encoderKilledMidEncode(
  platform: Platform,
  name: string,
  label: string,
  submit: (id: string) => Promise<void>,
): Promise<void> {
  const first = await platform.startEncoder(name, SLOW);
  const id = await platform.createVideo('Killed mid-encode');
  await submit(id);
  const t0 = Date.now();
  const processing = await platform.waitFor(
    id,
    'processing with progress',
    (v) => v.status === 'processing' && v.progress > 0,
    60_000,
  );
  const running = await until(
    'ffmpeg runs for the video',
    async () => {
      const found = await ffmpegsIn(first.tmpDir);
      if (found.length === 0 || !found.some((p) => p.args.includes(id))) throw new Error('no ffmpeg yet');
      return found;
    },
    10_000,
    50,
  );
  // Mid-encode: nothing marks the video finished yet.
  expect(await platform.storage.head(`videos/${id}/encoded.json`)).toBeNull();
  const killedAt = await platform.kill9(first.proc);
  const watchdogMs = await until(
    'no process of the killed worker remains',
    async () => {
      const left = await processesMentioning(first.tmpDir);
      if (left.length > 0) throw new Error(`still running: ${left.map((p) => p.pid).join(', ')}`);
      return Date.now() - killedAt;
    },
    5_000,
    25,
  );
  for (const p of running) expect(() => process.kill(p.pid, 0)).toThrow();
  // An attempt killed while storing its outputs leaves some of them behind; ffmpeg was killed here
  // before any upload, so those are added as such an attempt would have left them.
  const leftByKill = await storedOutputs(platform.storage, id);
  const partial = [`videos/${id}/seg-9-00001.m4s`, `videos/${id}/media_9.m3u8`, `videos/${id}/master.m3u8`];
  await platform.storage.put(partial[0]!, randomBytes(1000));
  await platform.storage.put(partial[1]!, '#EXTM3U\n#EXT-X-VERSION:7\n');
  await platform.storage.put(partial[2]!, '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nmedia_9.m3u8\n');

  const second = await platform.restartEncoder(first);
  const restartedAt = Date.now();
  let ready: VideoView;
  try {
    ready = await platform.waitStatus(id, 'ready', 180_000);
    await platform.settle(second);
  } finally {
    await second.proc.stop();
  }
  const readyAt = Date.now();

  expect(platform.eventsOf('video.encoded.v1', id)).toHaveLength(1);
  expect(platform.applied('video.encoded.v1', id)).toBe(1);
  const killed = logLines(first.proc);
  const restarted = logLines(second.proc);
  expect(encoderLog(killed, 'encoding', id)).toHaveLength(1);
  expect(encoderLog(killed, 'encoded', id)).toEqual([]);
  expect(encoderLog(restarted, 'encoding', id)).toHaveLength(1);
  expect(encoderLog(restarted, 'encoded', id)).toHaveLength(1);
  expect((await platform.video(id)).published_at).toBe(ready.published_at);
  const outputs = await platform.expectExactOutputs(id);
  for (const key of partial.slice(0, 2)) expect(outputs).not.toContain(key);
  expect(ready.renditions.map((r) => r.height)).toEqual([360, 240, 180]);
  // The killed attempt's work directory (its copy of the source) was swept by the restarted worker.
  const staleWork = [...second.stale];
  expect(staleWork.length).toBeGreaterThan(0);
  expect((await jobDirs(first.tmpDir)).filter((d) => second.stale.has(d))).toEqual([]);
  report(label, {
    progressAtKill: processing.progress,
    ffmpegPids: running.map((p) => p.pid),
    killToNoProcess: `${watchdogMs} ms`,
    objectsLeftByKill: leftByKill.length,
    restartToReady: secs(readyAt - restartedAt),
    total: secs(readyAt - t0),
    retryAttempt: encoderLog(restarted, 'encoding', id)[0]?.attempt,
    staleWorkDirsSwept: staleWork.length,
  });
}

describe('VOD crash safety, every service its own process (shared file: storage)', () => {
  const platform = new Platform();
  let dir: string;
  let storageDir: string;
  let small: Buffer;
  let medium: Buffer;
  let poison: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wavecast-vod-crash-'));
    storageDir = join(dir, 'storage');
    [small, medium] = await Promise.all([
      makeClip(join(dir, 'small.mp4'), { width: 320, height: 180, seconds: 4 }),
      makeClip(join(dir, 'medium.mp4'), { width: 640, height: 360, seconds: 6 }),
      makeClip(join(dir, 'silent.mp4'), { width: 320, height: 180, seconds: 5, audio: false }),
    ]);
    const made = await makePoison(join(dir, 'silent.mp4'), join(dir, 'poison.mp4'));
    expect(made.corrupted).toBeGreaterThan(made.frames * 0.9);
    poison = await readFile(join(dir, 'poison.mp4'));
    await platform.start({ storageUrl: `file:${storageDir}`, workDir: dir, uploads: true });
  }, 180_000);

  afterAll(async () => {
    await platform.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('two encoder workers share the queue: every video READY, each encoded exactly once, both did work', async () => {
    const a = await platform.startEncoder('s1-a', FAST);
    const b = await platform.startEncoder('s1-b', FAST);
    const t0 = Date.now();
    const ids = await Promise.all([1, 2, 3, 4].map((n) => platform.createVideo(`Shared queue ${n}`)));
    const firstReady = new Map<string, VideoView>();
    try {
      await Promise.all(ids.map((id) => tusUpload(platform.endpoint, small, platform.token, id)));
      const uploaded = Date.now();
      await Promise.all(
        ids.map(async (id) => firstReady.set(id, await platform.waitStatus(id, 'ready', 120_000))),
      );
      const ready = Date.now();
      await platform.settle(a, b);
      report('1 two workers', { uploads: secs(uploaded - t0), allReady: secs(ready - uploaded) });
    } finally {
      await Promise.all([a.proc.stop(), b.proc.stop()]);
    }

    const lines = logLines(a.proc, b.proc);
    for (const id of ids) {
      expect(platform.eventsOf('video.encoded.v1', id), id).toHaveLength(1);
      expect(encoderLog(lines, 'encoding', id), id).toHaveLength(1);
      expect(encoderLog(lines, 'encoded', id), id).toHaveLength(1);
      expect(encoderLog(lines, 'already encoded; announcing it again', id)).toEqual([]);
      expect(platform.applied('video.encoded.v1', id), id).toBe(1);
      // READY is final: nothing moved the record afterwards.
      const now = await platform.video(id);
      expect(now.status).toBe('ready');
      expect(now.published_at).toBe(firstReady.get(id)!.published_at);
      expect(now.updated_at).toBe(firstReady.get(id)!.updated_at);
      await platform.expectExactOutputs(id);
    }
    const perWorker = [a, b].map(
      (w) => logLines(w.proc).filter((l) => l.msg === 'encoded' && ids.includes(l.videoId as string)).length,
    );
    report('1 two workers', { jobsPerWorker: perWorker });
    expect(perWorker.every((n) => n >= 1)).toBe(true);
    expect(perWorker[0]! + perWorker[1]!).toBe(4);
  }, 240_000);

  it('kill -9 of an encoder mid-encode: its ffmpeg dies with it, a restart replaces the partial outputs, READY once', async () => {
    await encoderKilledMidEncode(platform, 's2', '2 encoder kill -9', (id) =>
      tusUpload(platform.endpoint, medium, platform.token, id).then(() => {}),
    );
  }, 300_000);

  it('kill -9 of the uploads service mid-upload: tus-js-client resumes with HEAD/PATCH, no byte lost, READY', async () => {
    const encoder = await platform.startEncoder('s3', FAST);
    const id = await platform.createVideo('Upload survives a crash');
    const requests: TusRequestRecord[] = [];
    const victim = platform.uploads;
    let uploadUrl = '';
    let killedAt = 0;
    let sentAtKill = 0;
    const t0 = Date.now();
    try {
      // The uploads service dies under a PATCH. No automatic retries here: tus-js-client 4.3 gives
      // up an upload URL whose HEAD answers 5xx and starts a new upload from byte 0
      // (tus/tus-js-client#579, #895), and while uploads restarts the gateway answers 503.
      const error = await tusUpload(platform.endpoint, medium, platform.token, id, {
        chunkSize: 256 * 1024,
        requests,
        onUploadUrl: (url) => {
          uploadUrl = url;
        },
        onProgress: (sent, total) => {
          if (killedAt !== 0 || sent / total < 0.4) return;
          killedAt = Date.now();
          sentAtKill = sent;
          victim.child.kill('SIGKILL');
        },
      }).then(
        () => undefined,
        (err: Error) => err,
      );
      expect(killedAt).toBeGreaterThan(0);
      expect(error?.message).toMatch(/tus: /);
      await victim.exited;
      await victim.stop();
      platform.uploads = await platform.relaunch(victim);
      const restartedAt = Date.now();
      // What the killed process had written is all the restarted one knows of.
      const uploadId = uploadUrl.slice(uploadUrl.lastIndexOf('/') + 1);
      const kept = (await stat(join(storageDir, 'uploads', '.tus', uploadId))).size;

      // The client resumes the same upload: HEAD for the offset, then PATCH from there.
      const resumedFrom = requests.length;
      const result = await tusUpload(platform.endpoint, medium, platform.token, id, {
        uploadUrl,
        chunkSize: 256 * 1024,
        requests,
      });
      const uploadedAt = Date.now();
      expect(result).toEqual({ url: uploadUrl, aborted: false });
      const resumed = requests.slice(resumedFrom);
      expect(resumed[0]).toMatchObject({ method: 'HEAD', url: uploadUrl });
      expect(resumed[1]).toMatchObject({ method: 'PATCH', url: uploadUrl, offset: String(kept) });
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(medium.length);
      expect(requests.filter((r) => r.method === 'POST')).toHaveLength(1);

      // Every byte arrived: the source is the file.
      const source = await readObject(platform.storage, `uploads/${id}/source`);
      expect(source.length).toBe(medium.length);
      expect(source.equals(medium)).toBe(true);
      const ready = await platform.waitStatus(id, 'ready', 120_000);
      const readyAt = Date.now();
      expect(ready.renditions.map((r) => r.height)).toEqual([360, 240]);
      // The staged upload went once the file was promoted.
      await until(
        'the staged upload is discarded',
        async () => {
          const staged = await readdir(join(storageDir, 'uploads', '.tus'));
          if (staged.some((f) => f.startsWith(uploadId))) throw new Error(staged.join(', '));
        },
        10_000,
      );
      await platform.settle(encoder);
      expect(platform.eventsOf('video.uploaded.v1', id)).toHaveLength(1);
      expect(platform.eventsOf('video.encoded.v1', id)).toHaveLength(1);
      await platform.expectExactOutputs(id);
      report('3 uploads kill -9', {
        sentAtKill: `${sentAtKill}/${medium.length}`,
        keptByKilledProcess: kept,
        killToRestarted: secs(restartedAt - killedAt),
        resumeRequests: resumed.map((r) => `${r.method}${r.offset ? `@${r.offset}` : ''}`),
        resumeToUploaded: secs(uploadedAt - restartedAt),
        total: secs(readyAt - t0),
      });
    } finally {
      if (platform.uploads.child.exitCode !== null || platform.uploads.child.signalCode !== null) {
        await platform.uploads.stop();
        platform.uploads = await platform.relaunch(platform.uploads);
      }
      await encoder.proc.stop();
    }
  }, 180_000);

  it('kill -9 of the catalog during an encode: the outcome waits in its queue and applies once on restart', async () => {
    const encoder = await platform.startEncoder('s4a', SLOW);
    try {
      const id = await platform.createVideo('Catalog down during the encode');
      await tusUpload(platform.endpoint, medium, platform.token, id);
      await platform.waitStatus(id, 'processing', 60_000);
      const downAt = await platform.killCatalog();
      const encoded = await until(
        'the encoder announces the video while the catalog is down',
        () => {
          const found = platform.eventsOf('video.encoded.v1', id)[0];
          if (!found) throw new Error('not yet');
          return found;
        },
        120_000,
      );
      // The encoder logs after the broker confirmed the event, a moment after the test saw it.
      const encodedLog = await until(
        'the encoder logs the encode',
        () => {
          const found = encoderLog(logLines(encoder.proc), 'encoded', id);
          if (found.length === 0) throw new Error('not yet');
          return found;
        },
        5_000,
        50,
      );
      expect(encodedLog).toHaveLength(1);
      expect(Date.parse(encodedLog[0]!.time as string)).toBeGreaterThan(downAt);
      const backlog = await platform.waiting('catalog');
      expect(backlog).toBeGreaterThanOrEqual(1);
      const restartAt = Date.now();
      await platform.restartCatalog();
      const ready = await platform.waitStatus(id, 'ready', 60_000);
      const readyAt = Date.now();
      await platform.settle(encoder);
      expect(platform.eventsOf('video.encoded.v1', id)).toHaveLength(1);
      expect(platform.applied('video.encoded.v1', id)).toBe(1);
      expect(encoderLog(logLines(encoder.proc), 'encoding', id)).toHaveLength(1);
      expect((await platform.video(id)).published_at).toBe(ready.published_at);
      await platform.expectExactOutputs(id);
      report('4a catalog kill -9 during encode', {
        catalogDownFor: secs(restartAt - downAt),
        encodedAfterKill: secs(encoded.at - downAt),
        backlogAtRestart: backlog,
        restartToReady: secs(readyAt - restartAt),
      });
    } finally {
      await platform.ensureCatalog();
      await encoder.proc.stop();
    }
  }, 240_000);

  it('kill -9 of the catalog before the upload finishes: video.uploaded.v1 waits in its queue, READY on restart', async () => {
    const encoder = await platform.startEncoder('s4b', FAST);
    try {
      const id = await platform.createVideo('Catalog down at the end of the upload');
      // tus by hand: the creation, then one PATCH whose body the test holds back half-way.
      const created = await fetch(platform.endpoint, {
        method: 'POST',
        headers: {
          'tus-resumable': '1.0.0',
          'upload-length': String(medium.length),
          'upload-metadata': `video_id ${Buffer.from(id).toString('base64')}`,
          authorization: `Bearer ${platform.token}`,
        },
      });
      expect(created.status).toBe(201);
      const url = new URL(created.headers.get('location')!, platform.gatewayUrl);
      const uploadId = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
      const patch = http.request(url, {
        method: 'PATCH',
        headers: {
          'tus-resumable': '1.0.0',
          'upload-offset': '0',
          'content-type': 'application/offset+octet-stream',
          authorization: `Bearer ${platform.token}`,
        },
      });
      const answered = new Promise<number>((resolve, reject) => {
        patch.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        patch.on('error', reject);
      });
      const half = Math.floor(medium.length / 2);
      patch.write(medium.subarray(0, half));
      // Bytes reach the staged file only once the catalog authorized this PATCH.
      const staged = join(storageDir, 'uploads', '.tus', uploadId);
      await until(
        'the PATCH is authorized and writing',
        async () => {
          if ((await stat(staged)).size === 0) throw new Error('nothing written yet');
        },
        10_000,
        20,
      );
      const downAt = await platform.killCatalog();
      patch.end(medium.subarray(half));
      expect(await answered).toBe(204);
      const completedAt = Date.now();
      // The upload was announced, and the encoder did its work, all while the catalog was down.
      await until(
        'the encoder announces the video',
        () => {
          if (platform.eventsOf('video.encoded.v1', id).length === 0) throw new Error('not yet');
        },
        60_000,
      );
      const uploaded = platform.eventsOf('video.uploaded.v1', id);
      expect(uploaded).toHaveLength(1);
      expect(uploaded[0]!.at).toBeGreaterThan(downAt);
      const backlog = await platform.waiting('catalog');
      expect(backlog).toBeGreaterThanOrEqual(2);
      const restartAt = Date.now();
      await platform.restartCatalog();
      const ready = await platform.waitStatus(id, 'ready', 60_000);
      const readyAt = Date.now();
      await platform.settle(encoder);
      expect(platform.applied('video.encoded.v1', id)).toBe(1);
      expect(platform.eventsOf('video.encoded.v1', id)).toHaveLength(1);
      expect((await readObject(platform.storage, `uploads/${id}/source`)).equals(medium)).toBe(true);
      expect((await platform.video(id)).published_at).toBe(ready.published_at);
      await platform.expectExactOutputs(id);
      report('4b catalog kill -9 before the upload ends', {
        uploadCompletedAfterKill: secs(completedAt - downAt),
        backlogAtRestart: backlog,
        restartToReady: secs(readyAt - restartAt),
      });
    } finally {
      await platform.ensureCatalog();
      await encoder.proc.stop();
    }
  }, 180_000);

  it('the broker connection of an encoder is cut mid-encode: the job completes once the broker is back', async () => {
    const amqp = new URL(platform.infra.amqpUrl);
    const proxy: TcpProxy = await startTcpProxy(amqp.hostname, Number(amqp.port || 5672));
    const viaProxy = new URL(platform.infra.amqpUrl);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const encoder = await platform.startEncoder('s5', { ...SLOW, BUS_URL: viaProxy.toString() });
    try {
      const id = await platform.createVideo('Broker restarts during the encode');
      await tusUpload(platform.endpoint, medium, platform.token, id);
      await platform.waitFor(id, 'processing', (v) => v.status === 'processing' && v.progress > 0, 60_000);
      await until(
        'ffmpeg runs',
        async () => {
          if ((await ffmpegsIn(encoder.tmpDir)).length === 0) throw new Error('no ffmpeg');
        },
        10_000,
        50,
      );
      const cutAt = Date.now();
      await proxy.cut();
      // The broker takes the unacknowledged job back the moment the connection is gone.
      await until(
        'the broker requeues the job',
        async () => {
          if ((await platform.waiting('encoder')) !== 1) throw new Error('not requeued');
        },
        5_000,
      );
      await sleep(Math.max(0, 3_000 - (Date.now() - cutAt))); // the outage lasts 3 s
      await proxy.resume();
      const resumedAt = Date.now();
      const ready = await platform.waitStatus(id, 'ready', 180_000);
      const readyAt = Date.now();
      await platform.settle(encoder);
      const lines = logLines(encoder.proc);
      expect(lines.some((l) => l.msg === 'rabbitmq connection lost; reconnecting')).toBe(true);
      const encoded = platform.eventsOf('video.encoded.v1', id);
      expect(encoded.length).toBeGreaterThanOrEqual(1);
      expect(encoded.every((e) => e.at > resumedAt)).toBe(true);
      expect(platform.applied('video.encoded.v1', id)).toBe(1);
      expect(platform.eventsOf('video.failed.v1', id)).toEqual([]);
      // The broker redelivered the job to the same worker while its first delivery was still
      // encoding: the repeat waited for it and announced its result, it did not encode again.
      const waited = encoderLog(
        lines,
        'this video is being encoded here already; the repeat waits for it',
        id,
      );
      expect(encoderLog(lines, 'encoding', id)).toHaveLength(1);
      expect(encoderLog(lines, 'encoded', id)).toHaveLength(1);
      expect((await platform.video(id)).published_at).toBe(ready.published_at);
      await platform.expectExactOutputs(id);
      report('5 broker cut during encode', {
        outage: secs(resumedAt - cutAt),
        resumeToReady: secs(readyAt - resumedAt),
        redeliveredAttempts: waited.map((l) => l.attempt),
        encodedEvents: encoded.length,
        reannounced: encoderLog(lines, 'already encoded; announcing it again', id).length,
      });
    } finally {
      await encoder.proc.stop();
      await proxy.close();
    }
  }, 300_000);

  it('a poison file is dead-lettered after the configured attempts and FAILS with a reason; its neighbour is READY', async () => {
    const encoder = await platform.startEncoder('s6', FAST);
    try {
      const [bad, good] = await Promise.all([
        platform.createVideo('Poison'),
        platform.createVideo('Healthy neighbour'),
      ]);
      const t0 = Date.now();
      // Both pass the upload checks: the poison's header and keyframes are sound.
      await Promise.all([
        tusUpload(platform.endpoint, poison, platform.token, bad),
        tusUpload(platform.endpoint, small, platform.token, good),
      ]);
      const [failed, ready] = await Promise.all([
        platform.waitStatus(bad, 'failed', 120_000),
        platform.waitStatus(good, 'ready', 120_000),
      ]);
      const settledAt = Date.now();
      expect(failed.failure_reason).toMatch(/^the video could not be decoded: \S/);
      expect(ready.playback?.hls_url).toMatch(/master\.m3u8$/);
      const letter = await until(
        'the job is dead-lettered',
        async () => {
          const found = (await platform.bus.deadLetters('encoder')).find(
            (l) => (l.envelope.data as { video_id: string }).video_id === bad,
          );
          if (!found) throw new Error('not in encoder.dlq');
          return found;
        },
        10_000,
      );
      expect(letter.envelope.attempt).toBe(3);
      const attempts = encoderLog(logLines(encoder.proc), 'encoding failed', bad);
      expect(attempts.map((l) => l.attempt)).toEqual([1, 2, 3]);
      expect(attempts.map((l) => l.final)).toEqual([false, false, true]);
      expect(platform.eventsOf('video.failed.v1', bad)).toHaveLength(1);
      expect(platform.eventsOf('video.encoded.v1', bad)).toEqual([]);
      expect(await storedOutputs(platform.storage, bad)).toEqual([]);
      await platform.settle(encoder);
      expect(platform.eventsOf('video.encoded.v1', good)).toHaveLength(1);
      await platform.expectExactOutputs(good);
      report('6 poison file', {
        reason: failed.failure_reason,
        deadLetterError: letter.error,
        bothSettled: secs(settledAt - t0),
      });
    } finally {
      await encoder.proc.stop();
    }
  }, 180_000);
});

describe('VOD crash safety on S3 storage (s3rver)', () => {
  const platform = new Platform();
  let dir: string;
  let s3: S3Fixture;
  let medium: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wavecast-vod-crash-s3-'));
    medium = await makeClip(join(dir, 'medium.mp4'), { width: 640, height: 360, seconds: 6 });
    s3 = await startS3('wavecast-vod-crash');
    // No uploads service: tus cannot run on s3rver (no ListParts). The test stores the source
    // and announces it, as the uploads service does once a file is judged good.
    await platform.start({ storageUrl: s3.url, workDir: dir, uploads: false });
  }, 180_000);

  afterAll(async () => {
    await platform.close();
    await s3?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('kill -9 of an encoder mid-encode: no ffmpeg left, the partial objects replaced, READY once, served from S3', async () => {
    let ownerId = '';
    await encoderKilledMidEncode(platform, 's3-kill', '2 (S3) encoder kill -9', async (id) => {
      ownerId = (await platform.video(id)).owner_id;
      const sourceKey = `uploads/${id}/source`;
      await platform.storage.put(sourceKey, medium);
      await typedEvents(platform.bus, eventSchemas).publish('video.uploaded.v1', {
        video_id: id,
        owner_id: ownerId,
        source_key: sourceKey,
        size_bytes: medium.length,
        probe: {
          duration_seconds: 6,
          width: 640,
          height: 360,
          video_codec: 'h264',
          audio_codec: 'aac',
          frame_rate: 30,
        },
        uploaded_at: new Date().toISOString(),
      });
    });
    expect(ownerId).toMatch(/^usr_/);
    // The gateway serves the outputs from the bucket.
    const videos = (await platform.api.get(`/v1/videos?sort=new`)).body.videos as VideoView[];
    const video = videos[0]!;
    expect(video.status).toBe('ready');
    const master = await fetch(`${platform.gatewayUrl}${video.playback!.hls_url}`);
    expect(master.status).toBe(200);
    const variant = (await master.text()).split('\n').find((l) => l.endsWith('.m3u8'))!;
    const mediaUrl = `${platform.gatewayUrl}${video.playback!.hls_url.replace(/[^/]+$/, variant)}`;
    const segment = (await (await fetch(mediaUrl)).text()).split('\n').find((l) => l.startsWith('seg-'))!;
    const res = await fetch(mediaUrl.replace(/[^/]+$/, segment));
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  }, 300_000);
});
