/**
 * What the packager needs from a fragmented MP4: the tracks of a `moov`
 * (kind, timescale, codec string, size, fragment defaults from `trex`) and,
 * per `traf` of a `moof`, decode time, duration, sample count and whether
 * the first sample is a sync sample.
 */
import { type Box, BoxError, Cursor, child, children, childrenOf } from './bmff.ts';
import { av1Codec, avcCodec, hevcCodec, mp4aCodec, plainCodecs, vp9Codec } from './codecs.ts';

export interface Track {
  id: number;
  kind: 'video' | 'audio';
  /** Ticks per second of the track's media time. */
  timescale: number;
  /** RFC 6381, e.g. `avc1.64001f` or `mp4a.40.2`. */
  codec: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

/** Per-track defaults for fragments (`trex`); a `tfhd` may override them. */
export interface TrackDefaults {
  sampleDuration: number;
  sampleFlags: number;
}

export interface TrackRun {
  trackId: number;
  /** `tfdt`, in the track's timescale. */
  baseMediaDecodeTime: number;
  /** Sum of sample durations, in the track's timescale. */
  duration: number;
  sampleCount: number;
  /** The first sample is a sync sample (undefined when the run is empty). */
  firstSampleSync: boolean | undefined;
}

/** `sample_is_non_sync_sample` in ISO/IEC 14496-12 sample flags. */
const NON_SYNC = 0x00010000;

export function parseMoov(buf: Uint8Array): { tracks: Track[]; defaults: Map<number, TrackDefaults> } {
  const moov = [...children(buf, 0, buf.length)].find((box) => box.type === 'moov');
  if (!moov) throw new BoxError('no moov box');
  const tracks: Track[] = [];
  for (const trak of childrenOf(buf, moov, 'trak')) {
    const track = parseTrak(buf, trak);
    if (track) tracks.push(track);
  }
  const defaults = new Map<number, TrackDefaults>();
  const mvex = child(buf, moov, 'mvex');
  for (const trex of mvex ? childrenOf(buf, mvex, 'trex') : []) {
    const c = Cursor.of(buf, trex);
    c.fullBox();
    const trackId = c.u32();
    c.skip(4);
    const sampleDuration = c.u32();
    c.skip(4);
    defaults.set(trackId, { sampleDuration, sampleFlags: c.u32() });
  }
  return { tracks, defaults };
}

function must(box: Box | undefined, type: string): Box {
  if (!box) throw new BoxError(`missing ${type} box`);
  return box;
}

function parseTrak(buf: Uint8Array, trak: Box): Track | undefined {
  const tkhd = Cursor.of(buf, must(child(buf, trak, 'tkhd'), 'tkhd'));
  const { version } = tkhd.fullBox();
  tkhd.skip(version === 1 ? 16 : 8);
  const id = tkhd.u32();
  const mdia = must(child(buf, trak, 'mdia'), 'mdia');
  const mdhd = Cursor.of(buf, must(child(buf, mdia, 'mdhd'), 'mdhd'));
  mdhd.skip(mdhd.fullBox().version === 1 ? 16 : 8);
  const timescale = mdhd.u32();
  if (timescale === 0) throw new BoxError(`track ${id} has timescale 0`);
  const hdlr = Cursor.of(buf, must(child(buf, mdia, 'hdlr'), 'hdlr')).skip(8);
  const handler = String.fromCharCode(...hdlr.bytes(4));
  if (handler !== 'vide' && handler !== 'soun') return undefined;
  const minf = must(child(buf, mdia, 'minf'), 'minf');
  const stbl = must(child(buf, minf, 'stbl'), 'stbl');
  const stsd = must(child(buf, stbl, 'stsd'), 'stsd');
  const [entry] = children(buf, stsd.body + 8, stsd.end);
  if (!entry) throw new BoxError(`track ${id} has no sample description`);
  return handler === 'vide'
    ? { id, kind: 'video', timescale, ...visualEntry(buf, entry) }
    : { id, kind: 'audio', timescale, ...audioEntry(buf, entry) };
}

function configBody(buf: Uint8Array, box: Box, offset: number, type: string): Uint8Array | undefined {
  for (const config of children(buf, box.body + offset, box.end)) {
    if (config.type === type) return buf.subarray(config.body, config.end);
  }
  return undefined;
}

/** VisualSampleEntry: 8 bytes of SampleEntry, then 70 bytes with width and height at 24. */
function visualEntry(buf: Uint8Array, entry: Box): Pick<Track, 'codec' | 'width' | 'height'> {
  const c = Cursor.of(buf, entry).skip(24);
  const width = c.u16();
  const height = c.u16();
  const config = (type: string) => configBody(buf, entry, 78, type);
  const fourcc = entry.type;
  let codec = fourcc;
  const avcC = config('avcC');
  const hvcC = config('hvcC');
  const av1C = config('av1C');
  const vpcC = config('vpcC');
  if ((fourcc === 'avc1' || fourcc === 'avc3') && avcC) codec = avcCodec(fourcc, avcC);
  else if ((fourcc === 'hvc1' || fourcc === 'hev1') && hvcC) codec = hevcCodec(fourcc, hvcC);
  else if (fourcc === 'av01' && av1C) codec = av1Codec(av1C);
  else if (fourcc === 'vp09' && vpcC) codec = vp9Codec(vpcC);
  return { codec, width, height };
}

/** AudioSampleEntry: 8 bytes of SampleEntry, then 20 (QuickTime v1: 36, v2: 56). */
function audioEntry(buf: Uint8Array, entry: Box): Pick<Track, 'codec' | 'sampleRate' | 'channels'> {
  const c = Cursor.of(buf, entry).skip(8);
  const version = c.u16();
  c.skip(6);
  const channels = c.u16();
  c.skip(6);
  const sampleRate = c.u32() >>> 16;
  const offset = 28 + (version === 1 ? 16 : version === 2 ? 36 : 0);
  const esds = entry.type === 'mp4a' ? configBody(buf, entry, offset, 'esds') : undefined;
  const codec = esds ? mp4aCodec(esds) : (plainCodecs[entry.type] ?? entry.type);
  return { codec, sampleRate, channels };
}

/** One entry per `traf`, in order. */
export function parseMoof(
  buf: Uint8Array,
  defaults: ReadonlyMap<number, TrackDefaults>,
): { sequenceNumber: number; runs: TrackRun[] } {
  const [moof] = children(buf, 0, buf.length);
  if (moof?.type !== 'moof') throw new BoxError('not a moof box');
  const mfhd = child(buf, moof, 'mfhd');
  const sequenceNumber = mfhd ? Cursor.of(buf, mfhd).skip(4).u32() : 0;
  const runs = childrenOf(buf, moof, 'traf').map((traf) => parseTraf(buf, traf, defaults));
  return { sequenceNumber, runs };
}

function parseTraf(buf: Uint8Array, traf: Box, defaults: ReadonlyMap<number, TrackDefaults>): TrackRun {
  const tfhd = Cursor.of(buf, must(child(buf, traf, 'tfhd'), 'tfhd'));
  const { flags } = tfhd.fullBox();
  const trackId = tfhd.u32();
  const trex = defaults.get(trackId);
  if (flags & 0x01) tfhd.skip(8); // base_data_offset
  if (flags & 0x02) tfhd.skip(4); // sample_description_index
  const defaultDuration = flags & 0x08 ? tfhd.u32() : (trex?.sampleDuration ?? 0);
  if (flags & 0x10) tfhd.skip(4); // default_sample_size
  const defaultFlags = flags & 0x20 ? tfhd.u32() : (trex?.sampleFlags ?? 0);

  const tfdtBox = child(buf, traf, 'tfdt');
  let baseMediaDecodeTime = 0;
  if (tfdtBox) {
    const tfdt = Cursor.of(buf, tfdtBox);
    baseMediaDecodeTime = tfdt.fullBox().version === 1 ? tfdt.u64() : tfdt.u32();
  }
  let duration = 0;
  let sampleCount = 0;
  let firstSampleSync: boolean | undefined;
  for (const box of childrenOf(buf, traf, 'trun')) {
    const trun = Cursor.of(buf, box);
    const run = trun.fullBox();
    const count = trun.u32();
    if (run.flags & 0x01) trun.skip(4); // data_offset
    const firstFlags = run.flags & 0x04 ? trun.u32() : undefined;
    const fields = [0x100, 0x200, 0x400, 0x800].filter((bit) => run.flags & bit).length;
    if (count * fields * 4 > trun.remaining) throw new BoxError(`trun of ${count} samples overruns its box`);
    for (let i = 0; i < count; i++) {
      const sampleDuration = run.flags & 0x100 ? trun.u32() : defaultDuration;
      if (run.flags & 0x200) trun.skip(4);
      const sampleFlags =
        run.flags & 0x400 ? trun.u32() : i === 0 && firstFlags !== undefined ? firstFlags : defaultFlags;
      if (run.flags & 0x800) trun.skip(4);
      if (sampleCount === 0 && i === 0) firstSampleSync = (sampleFlags & NON_SYNC) === 0;
      duration += sampleDuration;
    }
    sampleCount += count;
  }
  return { trackId, baseMediaDecodeTime, duration, sampleCount, firstSampleSync };
}
