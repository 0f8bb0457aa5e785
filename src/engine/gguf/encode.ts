/**
 * GGUF serialisation (the writer's side), browser-safe. Tensors are laid out the way
 * llama.cpp's gguf writer does: in the order given, each padded to the alignment.
 */
import {
  alignUp,
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  type GgmlType,
  GgufError,
  type GgufTensorInfo,
  type GgufTypedValue,
  type GgufTypeTag,
  type GgufValue,
  GgufValueType,
  tensorByteLength,
} from "./types.ts";

/** A growable little-endian byte buffer. */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number) {
    if (this.length + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }
  bytes(b: Uint8Array) {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  u8(v: number) {
    this.reserve(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  i8(v: number) {
    this.reserve(1);
    this.view.setInt8(this.length, v);
    this.length += 1;
  }
  u16(v: number) {
    this.reserve(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  i16(v: number) {
    this.reserve(2);
    this.view.setInt16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number) {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number) {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number) {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  f64(v: number) {
    this.reserve(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  u64(v: bigint) {
    this.reserve(8);
    this.view.setBigUint64(this.length, v, true);
    this.length += 8;
  }
  i64(v: bigint) {
    this.reserve(8);
    this.view.setBigInt64(this.length, v, true);
    this.length += 8;
  }
  zeros(n: number) {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const utf8 = new TextEncoder();

function writeString(out: ByteSink, s: string) {
  const b = utf8.encode(s);
  out.u64(BigInt(b.length));
  out.bytes(b);
}

function tagTypeId(tag: GgufTypeTag): number {
  return typeof tag === "object" ? GgufValueType.ARRAY : tag;
}

function int(value: GgufValue, min: number, max: number, key: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new GgufError(
      `metadata "${key}": ${String(value)} is not an integer in [${min}, ${max}]`,
    );
  }
  return value;
}

function big(value: GgufValue, key: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  throw new GgufError(`metadata "${key}": ${String(value)} is not a 64-bit integer`);
}

function num(value: GgufValue, key: string): number {
  if (typeof value !== "number")
    throw new GgufError(`metadata "${key}": ${String(value)} is not a number`);
  return value;
}

function writeValue(out: ByteSink, tag: GgufTypeTag, value: GgufValue, key: string) {
  if (typeof tag === "object") {
    if (!Array.isArray(value))
      throw new GgufError(`metadata "${key}" is tagged array but is not one`);
    out.u32(tagTypeId(tag.array));
    out.u64(BigInt(value.length));
    for (const item of value) writeValue(out, tag.array, item, key);
    return;
  }
  switch (tag) {
    case GgufValueType.UINT8:
      return out.u8(int(value, 0, 0xff, key));
    case GgufValueType.INT8:
      return out.i8(int(value, -0x80, 0x7f, key));
    case GgufValueType.UINT16:
      return out.u16(int(value, 0, 0xffff, key));
    case GgufValueType.INT16:
      return out.i16(int(value, -0x8000, 0x7fff, key));
    case GgufValueType.UINT32:
      return out.u32(int(value, 0, 0xffffffff, key));
    case GgufValueType.INT32:
      return out.i32(int(value, -0x80000000, 0x7fffffff, key));
    case GgufValueType.FLOAT32:
      return out.f32(num(value, key));
    case GgufValueType.FLOAT64:
      return out.f64(num(value, key));
    case GgufValueType.UINT64:
      return out.u64(BigInt.asUintN(64, big(value, key)));
    case GgufValueType.INT64:
      return out.i64(BigInt.asIntN(64, big(value, key)));
    case GgufValueType.BOOL:
      if (typeof value !== "boolean") throw new GgufError(`metadata "${key}" is not a boolean`);
      return out.u8(value ? 1 : 0);
    case GgufValueType.STRING:
      if (typeof value !== "string") throw new GgufError(`metadata "${key}" is not a string`);
      return writeString(out, value);
    default:
      throw new GgufError(`metadata "${key}" has unknown type ${String(tag)}`);
  }
}

export interface GgufTensorSpec {
  name: string;
  type: GgmlType;
  /** ggml order: shape[0] = columns. */
  shape: number[];
}

export interface EncodedHeader {
  /** Everything before the data section, padding included. */
  bytes: Uint8Array;
  tensors: GgufTensorInfo[];
  alignment: number;
  dataOffset: number;
  /** Total file size once every tensor is written and padded. */
  fileSize: number;
}

/**
 * Serialises a GGUF v3 header. `general.alignment`, when present, must be a uint32 and
 * sets the alignment; tensor offsets follow in order, each padded to it.
 */
export function encodeGgufHeader(
  metadata: Record<string, GgufTypedValue>,
  tensors: readonly GgufTensorSpec[],
): EncodedHeader {
  const alignEntry = metadata["general.alignment"];
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (alignEntry) {
    if (alignEntry.type !== GgufValueType.UINT32)
      throw new GgufError("general.alignment must be a uint32");
    alignment = alignEntry.value as number;
    if (!(alignment > 0 && Number.isInteger(Math.log2(alignment)))) {
      throw new GgufError(`general.alignment is ${alignment}, not a power of two`);
    }
  }
  const out = new ByteSink();
  out.u32(GGUF_MAGIC);
  out.u32(3);
  out.u64(BigInt(tensors.length));
  const keys = Object.keys(metadata);
  out.u64(BigInt(keys.length));
  for (const key of keys) {
    const { type, value } = metadata[key];
    writeString(out, key);
    out.u32(tagTypeId(type));
    writeValue(out, type, value, key);
  }
  const infos: GgufTensorInfo[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new GgufError(`tensor "${t.name}" is listed twice`);
    names.add(t.name);
    if (!GGML_TYPES[t.type]) throw new GgufError(`tensor "${t.name}" has unknown type ${t.type}`);
    const byteLength = tensorByteLength(t.type, t.shape, `tensor "${t.name}"`);
    writeString(out, t.name);
    out.u32(t.shape.length);
    for (const d of t.shape) out.u64(BigInt(d));
    out.u32(t.type);
    out.u64(BigInt(offset));
    infos.push({ name: t.name, type: t.type, shape: [...t.shape], offset, byteLength });
    offset = alignUp(offset + byteLength, alignment);
  }
  const dataOffset = alignUp(out.length, alignment);
  out.zeros(dataOffset - out.length);
  const last = infos[infos.length - 1];
  const dataSize = last ? alignUp(last.offset + last.byteLength, alignment) : 0;
  return {
    bytes: out.result(),
    tensors: infos,
    alignment,
    dataOffset,
    fileSize: dataOffset + dataSize,
  };
}

/** A whole GGUF file in memory (tests and small files); data[i] belongs to tensors[i]. */
export function encodeGguf(
  metadata: Record<string, GgufTypedValue>,
  tensors: readonly (GgufTensorSpec & { data: Uint8Array })[],
): Uint8Array {
  const header = encodeGgufHeader(metadata, tensors);
  const file = new Uint8Array(header.fileSize);
  file.set(header.bytes);
  tensors.forEach((t, i) => {
    const info = header.tensors[i];
    if (t.data.length !== info.byteLength) {
      throw new GgufError(
        `tensor "${t.name}" data is ${t.data.length} bytes, its type and shape need ${info.byteLength}`,
      );
    }
    file.set(t.data, header.dataOffset + info.offset);
  });
  return file;
}

/** Pairs each value of a parsed header with its type, ready to write back. */
export function typedMetadata(header: {
  metadata: Record<string, GgufValue>;
  metadataTypes: Record<string, GgufTypeTag>;
}): Record<string, GgufTypedValue> {
  const out: Record<string, GgufTypedValue> = Object.create(null);
  for (const key of Object.keys(header.metadata)) {
    out[key] = { type: header.metadataTypes[key], value: header.metadata[key] };
  }
  return out;
}
