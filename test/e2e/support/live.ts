/** Publishing and inspecting live streams the way a streamer and a viewer do. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { Parser } from 'm3u8-parser';

const run = promisify(execFile);

export interface Publisher {
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** ffmpeg pushing a test pattern (testsrc2 + sine) over RTMP, as OBS would. */
export function publish(
  url: string,
  opts: { width?: number; height?: number; seconds?: number; clock?: boolean } = {},
): Publisher {
  const { width = 854, height = 480, seconds = 120 } = opts;
  const video = `testsrc2=size=${width}x${height}:rate=30`;
  const child = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      video,
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      String(seconds),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-g',
      '30',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-f',
      'flv',
      url,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export function parsePlaylist(text: string): any {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return parser.manifest;
}

export async function ffprobe(input: string | Buffer): Promise<any> {
  if (typeof input === 'string') {
    const { stdout } = await run('ffprobe', [
      '-v',
      'error',
      '-show_streams',
      '-show_format',
      '-of',
      'json',
      input,
    ]);
    return JSON.parse(stdout);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ffprobe',
      ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', 'pipe:0'],
      {
        stdio: ['pipe', 'pipe', 'ignore'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stdin.on('error', () => undefined);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`ffprobe ${code}`)),
    );
    child.stdin.end(input);
  });
}

/** ffmpeg processes that are children of this process, with their arguments. */
export async function childFfmpegs(): Promise<{ pid: number; args: string }[]> {
  const { stdout } = await run('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]).catch(() => ({
    stdout: '',
  }));
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+\s+ffmpeg\s/.test(l))
    .map((l) => ({ pid: Number(l.split(/\s+/)[0]), args: l.slice(l.indexOf(' ') + 1) }));
}

/** The ffmpeg transcoders (they read FLV from stdin), as opposed to test publishers. */
export async function transcoders(): Promise<number[]> {
  return (await childFfmpegs()).filter((p) => p.args.includes('-f flv -i pipe:0')).map((p) => p.pid);
}
