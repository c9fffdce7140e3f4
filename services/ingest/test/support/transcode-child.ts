/** A process that runs a live transcoder and reports ffmpeg's pid; the test kills it. */
import { createLogger } from '@wavecast/kit/log';
import { defaultLadder } from '../../src/transcode/ladder.ts';
import { LiveTranscoder } from '../../src/transcode/supervisor.ts';
import { flvTestPattern } from './ffmpeg.ts';

const publisher = flvTestPattern({ width: 854, height: 480, seconds: 60, realtime: true });
const t = new LiveTranscoder({
  ffmpegPath: 'ffmpeg',
  ladder: defaultLadder,
  passthroughOnly: false,
  segmentSeconds: 1,
  partMs: 250,
  preset: 'ultrafast',
  logger: createLogger({ service: 'test', level: 'silent' }),
});
t.on('outputs', (o: { streams: NodeJS.ReadableStream[] }) => {
  for (const s of o.streams) s.resume();
  process.stdout.write(`ffmpeg ${t.pid}\n`);
});
t.start(publisher.flv);
