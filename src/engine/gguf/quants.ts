/**
 * Tensor payloads: dequantisation to float, ternary codes + one scale, and the inverse
 * (encoding codes for the writer). Bit orders follow the reference implementations:
 * llama.cpp ggml-quants.c (dequantize_row_tq1_0 / _tq2_0) and microsoft/BitNet
 * src/ggml-bitnet-mad.cpp (quantize_i2_s, x86 layout: QK_I2_S = 128).
 */
import { GGML_TYPES, GgmlType, GgufError } from "./types.ts";

// ---- half and bfloat16 ----

let halfTable: Float32Array | null = null;

/** f16 bits → float, by a 64 K-entry table built once (exact for every input). */
export function halfToFloat(bits: number): number {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exp = (h >> 10) & 0x1f;
      const frac = h & 0x3ff;
      halfTable[h] =
        exp === 0
          ? sign * frac * 2 ** -24
          : exp === 31
            ? frac
              ? Number.NaN
              : sign * Number.POSITIVE_INFINITY
            : sign * (1 + frac / 1024) * 2 ** (exp - 15);
    }
  }
  return halfTable[bits & 0xffff];
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** float → f16 bits, round to nearest even (as numpy / ggml's FP32_TO_FP16). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = f32Bits[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent: correct
  return sign | h;
}

export function bf16ToFloat(bits: number): number {
  f32Bits[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** float → bf16 bits, round to nearest even. */
export function floatToBf16(value: number): number {
  f32[0] = value;
  const x = f32Bits[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

// ---- shared checks ----

function checkSize(type: GgmlType, bytes: Uint8Array, count: number): number {
  const t = GGML_TYPES[type];
  if (!t) throw new GgufError(`unknown tensor type ${type}`);
  if (!Number.isSafeInteger(count) || count < 0 || count % t.blockSize !== 0) {
    throw new GgufError(`${t.name} needs a multiple of ${t.blockSize} values, got ${count}`);
  }
  const need = (count / t.blockSize) * t.blockBytes + t.tailBytes;
  if (bytes.length < need) {
    throw new GgufError(
      `${t.name} data for ${count} values needs ${need} bytes but only ${bytes.length} are there`,
    );
  }
  return count / t.blockSize;
}

function dataView(bytes: Uint8Array) {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const POW3 = [1, 3, 9, 27, 81, 243];

/** Trit n (0 = most significant) of a TQ1_0 byte that stores ⌈v·256/243⌉: 0, 1 or 2. */
function tq1Trit(byte: number, n: number): number {
  const q = (byte * POW3[n]) & 0xff;
  return (q * 3) >> 8;
}

/**
 * Unpacks a ternary-packed tensor into `out` as code − 1 (−1, 0, 1, or 2 for the invalid
 * code 3) and returns each block's f16 d bits (TQ types; null for I2_S). Tight loops, no
 * callbacks: this runs over two billion weights when the 2B4T model loads.
 */
function unpack(
  type: GgmlType,
  bytes: Uint8Array,
  count: number,
  out: Int8Array,
): Uint16Array | null {
  const blocks = checkSize(type, bytes, count);
  if (type === GgmlType.TQ2_0) {
    // qs[64] then d. Byte j+m (j ∈ {0, 32}) holds weights 4j + 32n + m in bits 2n..2n+1.
    const d = new Uint16Array(blocks);
    for (let b = 0; b < blocks; b++) {
      const at = b * 66;
      d[b] = bytes[at + 64] | (bytes[at + 65] << 8);
      const base = b * 256;
      for (let j = 0; j < 64; j += 32) {
        for (let m = 0; m < 32; m++) {
          const q = bytes[at + j + m];
          const o = base + 4 * j + m;
          out[o] = (q & 3) - 1;
          out[o + 32] = ((q >> 2) & 3) - 1;
          out[o + 64] = ((q >> 4) & 3) - 1;
          out[o + 96] = ((q >> 6) & 3) - 1;
        }
      }
    }
    return d;
  }
  if (type === GgmlType.TQ1_0) {
    // qs[0..32): 5 trits each → weights 32n + m; qs[32..48): → 160 + 16n + m;
    // qh[4]: 4 trits each → weights 240 + 4n + j; then d.
    const d = new Uint16Array(blocks);
    for (let b = 0; b < blocks; b++) {
      const at = b * 54;
      d[b] = bytes[at + 52] | (bytes[at + 53] << 8);
      const base = b * 256;
      for (let n = 0; n < 5; n++) {
        for (let m = 0; m < 32; m++) out[base + 32 * n + m] = tq1Trit(bytes[at + m], n) - 1;
        for (let m = 0; m < 16; m++)
          out[base + 160 + 16 * n + m] = tq1Trit(bytes[at + 32 + m], n) - 1;
      }
      for (let n = 0; n < 4; n++) {
        for (let j = 0; j < 4; j++)
          out[base + 240 + 4 * n + j] = tq1Trit(bytes[at + 48 + j], n) - 1;
      }
    }
    return d;
  }
  if (type === GgmlType.I2_S) {
    // Blocks of 128 in 32 bytes: weight j sits in byte j mod 32 at shift 6 − 2⌊j/32⌋.
    for (let b = 0; b < blocks; b++) {
      const at = b * 32;
      const base = b * 128;
      for (let m = 0; m < 32; m++) {
        const q = bytes[at + m];
        out[base + m] = ((q >> 6) & 3) - 1;
        out[base + 32 + m] = ((q >> 4) & 3) - 1;
        out[base + 64 + m] = ((q >> 2) & 3) - 1;
        out[base + 96 + m] = (q & 3) - 1;
      }
    }
    return null;
  }
  throw new GgufError(`${GGML_TYPES[type].name} is not a packed ternary type`);
}

/** The I2_S tensor's one scale: the float32 right after the n/4 packed bytes. */
function i2sScale(bytes: Uint8Array, count: number): number {
  return dataView(bytes).getFloat32(count / 4, true);
}

/** Dequantises `count` values of a tensor payload to float32, as the reference does. */
export function dequantize(type: GgmlType, bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(checkSize(type, bytes, count) * GGML_TYPES[type].blockSize);
  const dv = dataView(bytes);
  switch (type) {
    case GgmlType.F32:
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
      return out;
    case GgmlType.F16:
      for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      return out;
    case GgmlType.BF16:
      for (let i = 0; i < count; i++) out[i] = bf16ToFloat(dv.getUint16(2 * i, true));
      return out;
    default: {
      const codes = new Int8Array(count);
      const d = unpack(type, bytes, count, codes);
      if (!d) {
        const scale = i2sScale(bytes, count);
        for (let i = 0; i < count; i++) out[i] = codes[i] * scale;
        return out;
      }
      for (let b = 0; b < d.length; b++) {
        const scale = halfToFloat(d[b]);
        for (let i = b * 256; i < (b + 1) * 256; i++) out[i] = codes[i] * scale;
      }
      return out;
    }
  }
}

export interface TernaryTensor {
  /** Values in {-1, 0, 1}. */
  codes: Int8Array;
  /** One scale for the whole tensor: weight = code × scale. */
  scale: number;
}

/**
 * Reads a ternary tensor as codes and one scale. Packed types (I2_S, TQ1_0, TQ2_0) must
 * not use code 3; TQ blocks whose d is 0 are all-zero and any two nonzero d must agree.
 * Float types must hold only {−s, 0, s} for one s.
 */
export function readTernary(type: GgmlType, bytes: Uint8Array, count: number): TernaryTensor {
  const codes = new Int8Array(checkSize(type, bytes, count) * GGML_TYPES[type].blockSize);
  const name = GGML_TYPES[type].name;
  if (type === GgmlType.F32 || type === GgmlType.F16 || type === GgmlType.BF16) {
    const values = dequantize(type, bytes, count);
    let scale = 0;
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (v === 0) continue;
      if (scale === 0) scale = Math.abs(v);
      if (v === scale) codes[i] = 1;
      else if (v === -scale) codes[i] = -1;
      else {
        throw new GgufError(
          `${name} tensor is not ternary: value ${i} is ${v}, but the others are 0 or ±${scale}`,
        );
      }
    }
    return { codes, scale };
  }
  const d = unpack(type, bytes, count, codes);
  const bad = codes.indexOf(2); // code 3
  if (bad >= 0) {
    throw new GgufError(
      `${name} tensor is not ternary: weight ${bad} has code 3 (only 0, 1, 2 are valid)`,
    );
  }
  if (!d) return { codes, scale: i2sScale(bytes, count) };
  let scaleBits = -1;
  for (let b = 0; b < d.length; b++) {
    // +0 and −0 both mean an all-zero block.
    if ((d[b] & 0x7fff) === 0) {
      codes.fill(0, b * 256, (b + 1) * 256);
    } else if (scaleBits === -1) {
      scaleBits = d[b];
    } else if (d[b] !== scaleBits) {
      throw new GgufError(
        `${name} blocks use different scales (${halfToFloat(scaleBits)} and, in block ${b}, ${halfToFloat(d[b])}); Trit needs one scale per tensor`,
      );
    }
  }
  return { codes, scale: scaleBits === -1 ? 0 : halfToFloat(scaleBits) };
}

/**
 * Encodes ternary codes with one scale in a tensor type (the writer's side). The scale
 * must be exact in the target type (f16 for TQ d, bf16, …) so every format holds the
 * same weights.
 */
export function encodeTernary(type: GgmlType, codes: Int8Array, scale: number): Uint8Array {
  const t = GGML_TYPES[type];
  const count = codes.length;
  if (count % t.blockSize !== 0) {
    throw new GgufError(`${t.name} needs a multiple of ${t.blockSize} values, got ${count}`);
  }
  const out = new Uint8Array((count / t.blockSize) * t.blockBytes + t.tailBytes);
  const dv = dataView(out);
  for (let i = 0; i < count; i++) {
    const c = codes[i];
    if (c !== -1 && c !== 0 && c !== 1) throw new GgufError(`code ${i} is ${c}, not -1, 0 or 1`);
  }
  switch (type) {
    case GgmlType.F32:
      if (Math.fround(scale) !== scale) throw new GgufError(`scale ${scale} is not exact in F32`);
      for (let i = 0; i < count; i++) dv.setFloat32(4 * i, codes[i] * scale, true);
      return out;
    case GgmlType.F16: {
      const pos = exactHalf(scale);
      const neg = pos | 0x8000;
      for (let i = 0; i < count; i++) {
        dv.setUint16(2 * i, codes[i] === 0 ? 0 : codes[i] > 0 ? pos : neg, true);
      }
      return out;
    }
    case GgmlType.BF16: {
      const pos = floatToBf16(scale);
      if (bf16ToFloat(pos) !== scale) throw new GgufError(`scale ${scale} is not exact in BF16`);
      const neg = pos | 0x8000;
      for (let i = 0; i < count; i++) {
        dv.setUint16(2 * i, codes[i] === 0 ? 0 : codes[i] > 0 ? pos : neg, true);
      }
      return out;
    }
    case GgmlType.I2_S:
      if (Math.fround(scale) !== scale) throw new GgufError(`scale ${scale} is not exact in F32`);
      for (let i = 0; i < count; i++) {
        const block = Math.floor(i / 128);
        const j = i % 128;
        out[block * 32 + (j % 32)] |= (codes[i] + 1) << (6 - 2 * Math.floor(j / 32));
      }
      dv.setFloat32(count / 4, scale, true);
      return out;
    case GgmlType.TQ2_0: {
      const d = exactHalf(scale);
      for (let b = 0; b < count / 256; b++) {
        const at = b * 66;
        const base = b * 256;
        for (let j = 0; j < 64; j += 32) {
          for (let m = 0; m < 32; m++) {
            let q = 0;
            for (let n = 0; n < 4; n++) q |= (codes[base + 4 * j + 32 * n + m] + 1) << (2 * n);
            out[at + j + m] = q;
          }
        }
        dv.setUint16(at + 64, d, true);
      }
      return out;
    }
    case GgmlType.TQ1_0: {
      const d = exactHalf(scale);
      // Base-3 digits, most significant first, then scaled to a byte by ⌈q·256/243⌉.
      const pack = (first: number, stride: number, digits: number) => {
        let q = 0;
        for (let n = 0; n < digits; n++) q = q * 3 + codes[first + n * stride] + 1;
        if (digits === 4) q *= 3;
        return Math.floor((q * 256 + 242) / 243);
      };
      for (let b = 0; b < count / 256; b++) {
        const at = b * 54;
        const base = b * 256;
        for (let m = 0; m < 32; m++) out[at + m] = pack(base + m, 32, 5);
        for (let m = 0; m < 16; m++) out[at + 32 + m] = pack(base + 160 + m, 16, 5);
        for (let j = 0; j < 4; j++) out[at + 48 + j] = pack(base + 240 + j, 4, 4);
        dv.setUint16(at + 52, d, true);
      }
      return out;
    }
  }
}

function exactHalf(scale: number): number {
  const bits = floatToHalf(scale);
  if (halfToFloat(bits) !== scale) {
    throw new GgufError(`scale ${scale} is not exact in f16; round it with roundToHalf first`);
  }
  return bits;
}

/** The nearest f16 value: pick scales this way so every tensor format stores them exactly. */
export function roundToHalf(value: number): number {
  return halfToFloat(floatToHalf(value));
}

/** Encodes float values as F32, F16 or BF16 bytes (norm weights, embeddings). */
export function encodeFloats(type: GgmlType, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  if (type === GgmlType.F32) {
    const out = new Uint8Array(n * 4);
    const dv = dataView(out);
    for (let i = 0; i < n; i++) dv.setFloat32(4 * i, values[i], true);
    return out;
  }
  if (type !== GgmlType.F16 && type !== GgmlType.BF16) {
    throw new GgufError(`encodeFloats writes F32, F16 or BF16, not ${GGML_TYPES[type]?.name}`);
  }
  const out = new Uint8Array(n * 2);
  const dv = dataView(out);
  const convert = type === GgmlType.F16 ? floatToHalf : floatToBf16;
  for (let i = 0; i < n; i++) dv.setUint16(2 * i, convert(values[i]), true);
  return out;
}
