/** The VOD platform child (../servers/vod-platform.ts) and its control server, seen from the benchmark. */
import { type Child, startChild } from '../../lib/children.ts';
import { benchEnv } from '../../lib/platform.ts';
import type { Observation, PublishRequest, VodReady } from './protocol.ts';

export interface VodPlatform extends Child {
  url: string;
  control: string;
}

/**
 * The all-in-one process with bench/lib's wide-open limits, PGlite in memory,
 * `LOG_LEVEL=warn` (failures show), and `env` on top; the rest of this
 * process's environment passes through (e.g. `ENCODER_PRESET`).
 */
export async function startVodPlatform(env: Record<string, string> = {}): Promise<VodPlatform> {
  const child = await startChild(
    'vod-platform',
    new URL('../servers/vod-platform.ts', import.meta.url),
    {
      DATABASE_URL: 'pglite:memory',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ...benchEnv,
      ...env,
    },
    { processGroup: true },
  );
  const ready = child.ready as unknown as VodReady;
  if (!ready.url || !ready.control) throw new Error('the platform child did not say where it listens');
  return { ...child, url: ready.url, control: ready.control };
}

async function control(platform: VodPlatform, method: string, path: string, body?: unknown) {
  const res = await fetch(`${platform.control}${path}`, {
    method,
    ...(body !== undefined && {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  });
  return res;
}

/** The VOD events seen for `videoId`, waiting until one of `until` is among them. */
export async function observations(
  platform: VodPlatform,
  videoId: string,
  until: string[],
  timeoutMs: number,
): Promise<Observation[]> {
  const query = new URLSearchParams({ video: videoId, until: until.join(','), timeout: String(timeoutMs) });
  const res = await control(platform, 'GET', `/observations?${query}`);
  const body = (await res.json()) as { observations: Observation[] };
  if (res.status === 504) {
    const last = body.observations.at(-1);
    throw new Error(
      `no ${until.join(' or ')} for ${videoId} within ${timeoutMs} ms (last seen: ${last ? `${last.type}${last.percent !== undefined ? ` ${last.percent}%` : ''}` : 'nothing'})`,
    );
  }
  if (!res.ok) throw new Error(`observations: ${res.status}`);
  return body.observations;
}

/** Publishes events on the platform's bus, in order, as the service that owns them would. */
export async function publish(platform: VodPlatform, events: PublishRequest['events']): Promise<void> {
  const res = await control(platform, 'POST', '/publish', { events });
  if (res.status !== 204) throw new Error(`publish: ${res.status} ${await res.text()}`);
}

/** Starts a CPU profile of the platform child; `stop` writes it and returns the file. */
export async function startProfile(platform: VodPlatform): Promise<{ stop(name: string): Promise<string> }> {
  const res = await control(platform, 'POST', '/profile/start');
  if (res.status !== 204) throw new Error(`profile start: ${res.status}`);
  return {
    async stop(name) {
      const stopped = await control(platform, 'POST', `/profile/stop?name=${encodeURIComponent(name)}`);
      if (!stopped.ok) throw new Error(`profile stop: ${stopped.status}`);
      return ((await stopped.json()) as { file: string }).file;
    },
  };
}
