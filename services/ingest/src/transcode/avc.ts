/**
 * The picture size from an H.264 sequence parameter set (ITU-T H.264
 * 7.3.2.1.1), enough to plan the ladder before ffmpeg starts.
 */
class BitReader {
  readonly #data: Buffer;
  #bit = 0;

  constructor(data: Buffer) {
    this.#data = data;
  }

  bit(): number {
    const byte = this.#data[this.#bit >> 3];
    if (byte === undefined) throw new Error('SPS ended early');
    const value = (byte >> (7 - (this.#bit & 7))) & 1;
    this.#bit++;
    return value;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 1) | this.bit();
    return v >>> 0;
  }

  /** Unsigned Exp-Golomb. */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new Error('bad Exp-Golomb code');
    }
    return (2 ** zeros - 1 + this.bits(zeros)) >>> 0;
  }

  /** Signed Exp-Golomb. */
  se(): number {
    const k = this.ue();
    return k % 2 === 0 ? -(k / 2) : (k + 1) / 2;
  }
}

/** Removes emulation-prevention bytes (00 00 03 -> 00 00). */
function rbsp(nal: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]!);
  }
  return Buffer.from(out);
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Width and height of an SPS NAL unit (with its one-byte NAL header). */
export function spsDimensions(nal: Buffer): { width: number; height: number } {
  const r = new BitReader(rbsp(nal.subarray(1)));
  const profile = r.bits(8);
  r.bits(16); // constraint flags, level
  r.ue(); // seq_parameter_set_id
  let chroma = 1;
  if (HIGH_PROFILES.has(profile)) {
    chroma = r.ue();
    if (chroma === 3) r.bit();
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.bit(); // qpprime_y_zero_transform_bypass_flag
    if (r.bit()) {
      for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) if (r.bit()) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.bit();
    r.se();
    r.se();
    const cycle = r.ue();
    for (let i = 0; i < cycle; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.bit(); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightUnits = r.ue() + 1;
  const frameMbsOnly = r.bit();
  if (!frameMbsOnly) r.bit();
  r.bit(); // direct_8x8_inference_flag
  let crop = [0, 0, 0, 0];
  if (r.bit()) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
  const subWidth = chroma === 1 || chroma === 2 ? 2 : 1;
  const subHeight = chroma === 1 ? 2 : 1;
  const cropX = chroma === 0 ? 1 : subWidth;
  const cropY = (chroma === 0 ? 1 : subHeight) * (2 - frameMbsOnly);
  return {
    width: widthMbs * 16 - (crop[0]! + crop[1]!) * cropX,
    height: (2 - frameMbsOnly) * heightUnits * 16 - (crop[2]! + crop[3]!) * cropY,
  };
}

/** Width and height from an AVCDecoderConfigurationRecord (its first SPS). */
export function avcConfigDimensions(record: Buffer): { width: number; height: number } {
  if (record.length < 8 || record[0] !== 1) throw new Error('not an AVCDecoderConfigurationRecord');
  const spsCount = record[5]! & 0x1f;
  if (spsCount < 1) throw new Error('AVC configuration has no SPS');
  const length = record.readUInt16BE(6);
  return spsDimensions(record.subarray(8, 8 + length));
}
