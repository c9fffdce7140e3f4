/**
 * The publisher's wall clock, burnt into every frame as a barcode that
 * survives H.264 compression and scaling: 48 blocks in an 8 × 6 grid over the
 * whole picture, each black or white. Bits 0-39 are the low 40 bits of
 * `Date.now()` when the frame was made (milliseconds; wraps every 34 years),
 * bits 40-47 a CRC-8 of them, so a frame caught between two pictures (or a
 * damaged one) is rejected rather than misread.
 *
 * `encodeFrame` draws a frame (8-bit gray); `DECODER_SOURCE` is the same
 * decoding as plain browser JavaScript, for the player page.
 */

export const COLS = 8;
export const ROWS = 6;
export const STAMP_BITS = 40;
const STAMP_MOD = 2 ** STAMP_BITS;

/** CRC-8 (polynomial 0x07) of the 5 bytes of a 40-bit stamp, most significant first. */
export function crc8(stamp: number): number {
  let crc = 0;
  for (let i = 4; i >= 0; i--) {
    crc ^= Math.floor(stamp / 2 ** (8 * i)) & 0xff;
    for (let b = 0; b < 8; b++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/** The 48 bits for a wall-clock time: 40 bits of stamp, then 8 of CRC; bit i is block i (row-major). */
export function bitsFor(nowMs: number): number[] {
  const stamp = nowMs % STAMP_MOD;
  const crc = crc8(stamp);
  const bits: number[] = [];
  for (let i = 0; i < STAMP_BITS; i++) bits.push(Math.floor(stamp / 2 ** i) % 2);
  for (let i = 0; i < 8; i++) bits.push((crc >> i) & 1);
  return bits;
}

/** Draws the barcode of `nowMs` into `frame` (8-bit gray, width × height, one byte per pixel). */
export function encodeFrame(frame: Buffer, width: number, height: number, nowMs: number): void {
  const bits = bitsFor(nowMs);
  const bw = Math.floor(width / COLS);
  const bh = Math.floor(height / ROWS);
  // A thin mid-gray gutter between blocks keeps the blocks' centres clear of ringing.
  frame.fill(128);
  const gutter = Math.max(2, Math.floor(bw / 16));
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      const value = bits[r * COLS + c] ? 235 : 16;
      for (let y = r * bh + gutter; y < (r + 1) * bh - gutter; y++) {
        const row = y * width;
        frame.fill(value, row + c * bw + gutter, row + (c + 1) * bw - gutter);
      }
    }
  }
}

/** Decodes 48 sampled bits (true = light block) into the publisher's time, or undefined if the CRC fails. */
export function decodeBits(bits: boolean[], nowMs: number): number | undefined {
  let stamp = 0;
  for (let i = 0; i < STAMP_BITS; i++) if (bits[i]) stamp += 2 ** i;
  let crc = 0;
  for (let i = 0; i < 8; i++) if (bits[STAMP_BITS + i]) crc |= 1 << i;
  if (crc !== crc8(stamp)) return undefined;
  // The full time: the latest one at or before now whose low 40 bits are the stamp.
  const behind = (((nowMs - stamp) % STAMP_MOD) + STAMP_MOD) % STAMP_MOD;
  return nowMs - behind;
}

/**
 * Browser JavaScript defining `window.decodeBarcode(ctx, w, h, now)`: samples the centre of each
 * block of a canvas the video was drawn on, and returns the publisher's time or undefined.
 */
export const DECODER_SOURCE = `
(() => {
  const COLS = ${COLS}, ROWS = ${ROWS}, STAMP_BITS = ${STAMP_BITS};
  const crc8 = ${crc8.toString()};
  const decodeBits = ${decodeBits.toString().replace(/STAMP_MOD/g, String(STAMP_MOD))};
  window.decodeBarcode = (ctx, w, h, now) => {
    const data = ctx.getImageData(0, 0, w, h).data;
    const bw = w / COLS, bh = h / ROWS;
    const bits = [];
    for (let r = 0; r < ROWS; r++) {
      for (let c = 0; c < COLS; c++) {
        const x = Math.floor(c * bw + bw / 2), y = Math.floor(r * bh + bh / 2);
        bits.push(data[(y * w + x) * 4] > 128);
      }
    }
    return decodeBits(bits, now);
  };
})();
`;
