import { halfToFloat } from "../gguf/index.ts";

/**
 * Repacking ternary weights, once at load, into the kernels' layout (see
 * wasm-kernels/assembly/kernels.ts): rows padded to 128 columns, blocks of 32 bytes,
 * byte m of block b holding the codes (w + 1) of columns 128b + m + 32n at bit
 * 6 − 2n (exactly I2_S's block); rows padded with weight-0 rows to groups of four whose
 * blocks interleave (blockOffset), so that a kernel pass over four rows reads one stream.
 */

/** Packed bytes per row for `cols` columns. */
export function packedStride(cols: number): number {
  return Math.ceil(cols / 128) * 32;
}

/** Columns after padding (what the int8 activations must be padded to). */
export function paddedCols(cols: number): number {
  return Math.ceil(cols / 128) * 128;
}

/** Rows after padding to whole groups of four (the kernels run four rows per pass). */
export function paddedRows(rows: number): number {
  return Math.ceil(rows / 4) * 4;
}

/** Bytes a packed rows × cols matrix takes. */
export function packedBytes(rows: number, cols: number): number {
  return paddedRows(rows) * packedStride(cols);
}

/** Byte offset of block b of row r: the four rows of a group store their blocks in turn. */
export function blockOffset(r: number, b: number, stride: number): number {
  return (r & ~3) * stride + b * 128 + (r & 3) * 32;
}

/** A weight-0 byte (four codes 1). */
const ZERO_CODES = 0x55;

function checkSize(dst: Uint8Array, rows: number, cols: number) {
  if (dst.length < packedBytes(rows, cols)) {
    throw new Error("The packed buffer is too small for this matrix.");
  }
}

/** Fills the pad rows after `rows` (up to the group of four) with weight 0. */
function zeroPadRows(dst: Uint8Array, rows: number, stride: number) {
  for (let r = rows; r < paddedRows(rows); r++) {
    for (let b = 0; b < stride / 32; b++) {
      const at = blockOffset(r, b, stride);
      dst.fill(ZERO_CODES, at, at + 32);
    }
  }
}

/**
 * Packs row-major codes in {-1, 0, 1} (rows × cols) into dst (packedBytes). Padding
 * columns and rows get code 1 (weight 0).
 */
export function packTernaryCodes(dst: Uint8Array, codes: Int8Array, rows: number, cols: number) {
  if (codes.length !== rows * cols) {
    throw new Error(
      `A ${rows}×${cols} ternary matrix needs ${rows * cols} codes, got ${codes.length}.`,
    );
  }
  checkSize(dst, rows, cols);
  const stride = packedStride(cols);
  for (let r = 0; r < rows; r++) {
    const src = r * cols;
    for (let byte = 0; byte < stride; byte++) {
      const blockCol = (byte >> 5) * 128 + (byte & 31);
      let v = 0;
      for (let n = 0; n < 4; n++) {
        const c = blockCol + 32 * n;
        let code = 1;
        if (c < cols) {
          const w = codes[src + c];
          if (w !== -1 && w !== 0 && w !== 1) {
            throw new Error(`Ternary weight at row ${r}, column ${c} is ${w}, not -1, 0 or 1.`);
          }
          code = w + 1;
        }
        v |= code << (6 - 2 * n);
      }
      dst[blockOffset(r, byte >> 5, stride) + (byte & 31)] = v;
    }
  }
  zeroPadRows(dst, rows, stride);
}

/**
 * Copies an I2_S tensor (rows × cols, n/4 packed bytes then the float32 scale) into the
 * kernel layout; cols must be a multiple of 128 (true for every 2B4T matrix) so that
 * rows start on block boundaries. Returns the scale.
 */
export function packI2S(dst: Uint8Array, data: Uint8Array, rows: number, cols: number): number {
  if (cols % 128 !== 0) {
    throw new Error(`I2_S rows must be a multiple of 128 weights to repack, got ${cols} columns.`);
  }
  const bytes = (rows * cols) / 4;
  if (data.length < bytes + 4) {
    throw new Error(`I2_S tensor ${rows}×${cols} needs ${bytes + 4} bytes, got ${data.length}.`);
  }
  checkSize(dst, rows, cols);
  const codes = data.subarray(0, bytes);
  if (hasCode3(codes))
    throw new Error("This I2_S tensor uses code 3, which is not a ternary weight.");
  const stride = packedStride(cols);
  if (codes.byteOffset % 4 === 0 && dst.byteOffset % 4 === 0) {
    // a 32-byte block is eight words: copy words (a subarray per block costs 5× more)
    const from = new Uint32Array(codes.buffer, codes.byteOffset, bytes / 4);
    const to = new Uint32Array(dst.buffer, dst.byteOffset, Math.floor(dst.length / 4));
    const words = stride / 4;
    for (let r = 0; r < rows; r++) {
      const src = r * words;
      const base = ((r & ~3) * stride + (r & 3) * 32) / 4;
      for (let b = 0; b < words / 8; b++) {
        const i = src + b * 8;
        const o = base + b * 32;
        to[o] = from[i];
        to[o + 1] = from[i + 1];
        to[o + 2] = from[i + 2];
        to[o + 3] = from[i + 3];
        to[o + 4] = from[i + 4];
        to[o + 5] = from[i + 5];
        to[o + 6] = from[i + 6];
        to[o + 7] = from[i + 7];
      }
    }
  } else {
    for (let r = 0; r < rows; r++) {
      for (let b = 0; b < stride / 32; b++) {
        const from = r * stride + b * 32;
        dst.set(codes.subarray(from, from + 32), blockOffset(r, b, stride));
      }
    }
  }
  zeroPadRows(dst, rows, stride);
  return new DataView(data.buffer, data.byteOffset + bytes, 4).getFloat32(0, true);
}

/** TQ2_0 stores bits 2n..2n+1 where we store 6−2n: reverse the four 2-bit groups. */
const reverseGroups = new Uint8Array(256).map(
  (_, b) => ((b & 3) << 6) | (((b >> 2) & 3) << 4) | (((b >> 4) & 3) << 2) | (b >> 6),
);

/**
 * Repacks a TQ2_0 tensor (blocks of 256: 64 code bytes, then an f16 scale) into the kernel
 * layout. TQ2_0's first and second 32 bytes each hold 128 weights in I2_S's order with
 * the 2-bit groups reversed. BitNet has one scale per tensor: every block's scale must be
 * equal (else the tensor is not BitNet-ternary), and that scale is returned.
 */
export function packTQ2(dst: Uint8Array, data: Uint8Array, rows: number, cols: number): number {
  if (cols % 256 !== 0) {
    throw new Error(`TQ2_0 rows must be a multiple of 256 weights, got ${cols} columns.`);
  }
  const blocks = (rows * cols) / 256;
  if (data.length < blocks * 66) {
    throw new Error(`TQ2_0 tensor ${rows}×${cols} needs ${blocks * 66} bytes, got ${data.length}.`);
  }
  checkSize(dst, rows, cols);
  const stride = packedStride(cols);
  const perRow = cols / 256;
  let scaleBits = -1;
  for (let b = 0; b < blocks; b++) {
    const src = b * 66;
    // a TQ2_0 block is two kernel blocks of the same row
    const row = Math.floor(b / perRow);
    const first = blockOffset(row, 2 * (b % perRow), stride);
    const second = first + 128;
    const d = data[src + 64] | (data[src + 65] << 8);
    if (d === 0 || d === 0x8000) {
      // a block with scale 0 is all zeros whatever its codes say
      dst.fill(ZERO_CODES, first, first + 32);
      dst.fill(ZERO_CODES, second, second + 32);
      continue;
    }
    const codes = data.subarray(src, src + 64);
    if (hasCode3(codes))
      throw new Error("This TQ2_0 tensor uses code 3, which is not a ternary weight.");
    for (let i = 0; i < 32; i++) dst[first + i] = reverseGroups[codes[i]];
    for (let i = 0; i < 32; i++) dst[second + i] = reverseGroups[codes[32 + i]];
    if (scaleBits === -1) scaleBits = d;
    else if (d !== scaleBits) {
      throw new Error(
        "This TQ2_0 tensor has different scales per block; BitNet weights have one scale per tensor.",
      );
    }
  }
  zeroPadRows(dst, rows, stride);
  return scaleBits === -1 ? 0 : halfToFloat(scaleBits);
}

/** Whether any 2-bit group of the bytes is 3 (both bits set). */
function hasCode3(bytes: Uint8Array): boolean {
  let any = 0;
  let i = 0;
  if (bytes.byteOffset % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
    for (let w = 0; w < words.length; w++) any |= words[w] & (words[w] >>> 1) & 0x55555555;
    i = words.length * 4;
  }
  for (; i < bytes.length; i++) any |= bytes[i] & (bytes[i] >> 1) & 0x55;
  return any !== 0;
}

/**
 * A KV cache in the reference's order, [position][kvHead][headDim], in the attention
 * kernel's [kvHead][position][headDim] (each head's keys one stream).
 */
export function headMajorCache(
  cache: Float32Array,
  positions: number,
  kvHeads: number,
  headDim: number,
): Float32Array {
  const out = new Float32Array(positions * kvHeads * headDim);
  for (let p = 0; p < positions; p++) {
    for (let g = 0; g < kvHeads; g++) {
      const from = (p * kvHeads + g) * headDim;
      out.set(cache.subarray(from, from + headDim), (g * positions + p) * headDim);
    }
  }
  return out;
}
