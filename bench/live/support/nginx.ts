/**
 * nginx as a baseline: our own instance (never the system service), from a
 * generated configuration in a temporary prefix, `daemon off` with a master
 * process, as a tracked child process group; stopped and removed after use.
 *   - RTMP ingest with HLS output (Debian's libnginx-mod-rtmp);
 *   - static files over HTTP.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import path from 'node:path';
import { onCleanup, type Proc, sleep, start } from './procs.ts';

const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

export interface Nginx {
  proc: Proc;
  prefix: string;
  /** The master's pid (its workers are its children). */
  pid: number;
  stop(): Promise<void>;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function nginxAvailable(rtmp: boolean): string | undefined {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
  } catch {
    return 'nginx is not installed (apt-get install -y nginx libnginx-mod-rtmp)';
  }
  if (rtmp && !existsSync(RTMP_MODULE))
    return `${RTMP_MODULE} is missing (apt-get install -y libnginx-mod-rtmp)`;
  return undefined;
}

function common(prefix: string, workers: string, rtmp: boolean): string {
  return [
    rtmp ? `load_module ${RTMP_MODULE};` : '',
    'daemon off;',
    'master_process on;',
    // We run as root here: workers must be able to write where the master can.
    'user root root;',
    `worker_processes ${workers};`,
    `pid ${prefix}/nginx.pid;`,
    `error_log ${prefix}/error.log warn;`,
    'events { worker_connections 4096; }',
  ].join('\n');
}

async function launch(prefix: string, conf: string, ports: number[]): Promise<Nginx> {
  const file = path.join(prefix, 'nginx.conf');
  writeFileSync(file, conf);
  const proc = start('nginx', 'nginx', ['-e', `${prefix}/error.log`, '-p', prefix, '-c', file]);
  const remove = () => rmSync(prefix, { recursive: true, force: true });
  const unregister = onCleanup(remove);
  const stop = async () => {
    await proc.stop(3_000, 'SIGQUIT');
    remove();
    unregister();
  };
  // Up once every port accepts connections.
  const end = Date.now() + 10_000;
  for (const port of ports) {
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = new Socket();
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
        socket.connect(port, '127.0.0.1');
      });
      if (ok) break;
      if (Date.now() > end || proc.child.exitCode !== null) {
        const errors = existsSync(`${prefix}/error.log`) ? readFileSync(`${prefix}/error.log`, 'utf8') : '';
        await stop();
        throw new Error(`nginx did not start: ${proc.stderrTail()} ${errors}`);
      }
      await sleep(100);
    }
  }
  return { proc, prefix, pid: proc.pid, stop };
}

/** nginx-rtmp ingesting `rtmp://127.0.0.1:<port>/live/<name>`, writing HLS (1 s fragments) to `hlsDir`. */
export async function startNginxRtmp(
  scratch: string,
  opts: { workers?: string } = {},
): Promise<Nginx & { rtmpPort: number; hlsDir: string }> {
  const prefix = mkdtempSync(path.join(scratch, 'wavecast-nginx-rtmp-'));
  const hlsDir = path.join(prefix, 'hls');
  mkdirSync(hlsDir);
  const rtmpPort = await freePort();
  const conf = `${common(prefix, opts.workers ?? 'auto', true)}
rtmp {
  server {
    listen 127.0.0.1:${rtmpPort};
    chunk_size 4096;
    application live {
      live on;
      record off;
      hls on;
      hls_path ${hlsDir};
      hls_fragment 1s;
      hls_playlist_length 60s;
    }
  }
}
`;
  const nginx = await launch(prefix, conf, [rtmpPort]);
  return { ...nginx, rtmpPort, hlsDir };
}

/** nginx serving `root` as static files on `http://127.0.0.1:<port>/`. */
export async function startNginxStatic(
  scratch: string,
  root: string,
  opts: { workers?: string } = {},
): Promise<Nginx & { url: string }> {
  const prefix = mkdtempSync(path.join(scratch, 'wavecast-nginx-http-'));
  const port = await freePort();
  const conf = `${common(prefix, opts.workers ?? '1', false)}
http {
  types {
    application/vnd.apple.mpegurl m3u8;
    video/iso.segment m4s;
    video/mp4 mp4;
  }
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 10000000;
  open_file_cache max=100 inactive=60s;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    add_header Access-Control-Allow-Origin *;
    location ~ \\.m3u8$ { add_header Cache-Control no-cache; add_header Access-Control-Allow-Origin *; }
    location ~ \\.m4s$ { add_header Cache-Control "public, max-age=31536000, immutable"; add_header Access-Control-Allow-Origin *; }
  }
}
`;
  const nginx = await launch(prefix, conf, [port]);
  return { ...nginx, url: `http://127.0.0.1:${port}` };
}
