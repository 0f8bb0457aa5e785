/**
 * GGUF metadata value type ids (the GGUF spec). The same names and ids as
 * @huggingface/gguf's GGUFValueType (types.test.ts checks they agree); declared here
 * because importing that package at run time pulls its Node file reader (fs, stream)
 * into the worker bundle, for one enum. Its parser is our second opinion in the tests.
 */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** ggml tensor type ids (ggml.h; I2_S = 36 in the BitNet fork, Eddie-Wang1120/llama.cpp). */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  I2_S = 36,
}

export interface GgmlTypeTraits {
  name: string;
  /** Elements per block; a row (shape[0]) must be a whole number of blocks. */
  blockSize: number;
  /** Bytes per block. */
  blockBytes: number;
  /** Bytes added once per tensor (I2_S keeps its float32 scale in a 32-byte tail). */
  tailBytes: number;
}

export const GGML_TYPES: Readonly<Record<GgmlType, GgmlTypeTraits>> = {
  [GgmlType.F32]: { name: "F32", blockSize: 1, blockBytes: 4, tailBytes: 0 },
  [GgmlType.F16]: { name: "F16", blockSize: 1, blockBytes: 2, tailBytes: 0 },
  [GgmlType.BF16]: { name: "BF16", blockSize: 1, blockBytes: 2, tailBytes: 0 },
  // qs[48] (5 trits a byte) + qh[4] (4 trits a byte) + f16 d
  [GgmlType.TQ1_0]: { name: "TQ1_0", blockSize: 256, blockBytes: 54, tailBytes: 0 },
  // qs[64] (4 codes a byte) + f16 d
  [GgmlType.TQ2_0]: { name: "TQ2_0", blockSize: 256, blockBytes: 66, tailBytes: 0 },
  // 128 weights in 32 bytes; the fork's x86 layout (QK_I2_S = 128), which its converter writes
  [GgmlType.I2_S]: { name: "I2_S", blockSize: 128, blockBytes: 32, tailBytes: 32 },
};

/** Names of ggml types we do not read, so an error can say what the file holds. */
const OTHER_GGML_TYPE_NAMES: Record<number, string> = {
  2: "Q4_0",
  3: "Q4_1",
  6: "Q5_0",
  7: "Q5_1",
  8: "Q8_0",
  9: "Q8_1",
  10: "Q2_K",
  11: "Q3_K",
  12: "Q4_K",
  13: "Q5_K",
  14: "Q6_K",
  15: "Q8_K",
  16: "IQ2_XXS",
  17: "IQ2_XS",
  18: "IQ3_XXS",
  19: "IQ1_S",
  20: "IQ4_NL",
  21: "IQ3_S",
  22: "IQ2_S",
  23: "IQ4_XS",
  24: "I8",
  25: "I16",
  26: "I32",
  27: "I64",
  28: "F64",
  29: "IQ1_M",
  37: "TL1",
  38: "TL2",
  39: "MXFP4",
};

export function isGgmlType(id: number): id is GgmlType {
  return Object.hasOwn(GGML_TYPES, id);
}

/** "TQ2_0", or "Q4_K (id 12)" / "unknown type id 99" for types we do not read. */
export function ggmlTypeName(id: number): string {
  if (isGgmlType(id)) return GGML_TYPES[id].name;
  const other = OTHER_GGML_TYPE_NAMES[id];
  return other ? `${other} (id ${id})` : `unknown type id ${id}`;
}

/** Every failure to read or validate a GGUF file; the message says what is wrong in words. */
export class GgufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GgufError";
  }
}

/** A metadata value as read: 64-bit integers are bigint so they round-trip exactly. */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

/**
 * The GGUF type of a metadata value: a scalar type id, or an array of items of one type.
 * For arrays of arrays the tag holds the first inner array's item type.
 */
export type GgufTypeTag = Exclude<GgufValueType, GgufValueType.ARRAY> | { array: GgufTypeTag };

export interface GgufTypedValue {
  type: GgufTypeTag;
  value: GgufValue;
}

export interface GgufTensorInfo {
  name: string;
  type: GgmlType;
  /** ggml order: shape[0] = columns (contiguous), shape[1] = rows. */
  shape: number[];
  /** From the start of the data section; a multiple of the alignment. */
  offset: number;
  byteLength: number;
}

export interface GgufHeader {
  version: number;
  metadata: Record<string, GgufValue>;
  /** The GGUF type of each metadata value, for exact round trips. */
  metadataTypes: Record<string, GgufTypeTag>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute file offset of the tensor data section. */
  dataOffset: number;
}

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes a tensor of this type and shape occupies; throws GgufError for a bad row length. */
export function tensorByteLength(
  type: GgmlType,
  shape: readonly number[],
  name = "tensor",
): number {
  const t = GGML_TYPES[type];
  if (shape.length === 0) throw new GgufError(`${name} has no dimensions`);
  if (shape[0] % t.blockSize !== 0) {
    throw new GgufError(
      `${name} is ${t.name} but its row length ${shape[0]} is not a multiple of the ${t.name} block size ${t.blockSize}`,
    );
  }
  return (elementCount(shape) / t.blockSize) * t.blockBytes + t.tailBytes;
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
