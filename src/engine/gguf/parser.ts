/**
 * GGUF header parser that takes the file in chunks as they arrive.
 *
 * Written by hand rather than with @huggingface/gguf because that parser wants random
 * access to a URL or file, reads 64-bit counts without checking them against the bytes
 * that exist, and does not validate tensors; here a wrong file must fail in words as
 * soon as the bytes seen prove it, and nothing is allocated from an untrusted count.
 *
 * One file (~540 lines) on purpose: the resumable state machine and the checks it runs as
 * bytes arrive read best together; the value and tensor-info readers are its steps.
 */
import {
  alignUp,
  elementCount,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufError,
  type GgufHeader,
  type GgufTensorInfo,
  type GgufTypeTag,
  type GgufValue,
  GgufValueType,
  ggmlTypeName,
  isGgmlType,
  tensorByteLength,
} from "./types.ts";

export interface GgufParserOptions {
  /** Total file size when known (Content-Length, Blob.size): lets counts be checked early. */
  fileSize?: number;
  /** A header bigger than this is refused (default 256 MiB; the 2B4T header is ~8 MB). */
  maxHeaderBytes?: number;
}

/** Thrown inside the parser when the bytes so far end mid-item; never escapes push(). */
const NEED_MORE = Symbol("need more bytes");

const MAX_KEY_BYTES = 65_535;
const MAX_TENSOR_NAME_BYTES = 1024;
const MAX_STRING_BYTES = 64 * 1024 * 1024;
const MAX_DIMS = 4;
const MAX_ARRAY_DEPTH = 8;
/** The fewest bytes one key/value pair can take: key length, type, 1-byte value. */
const MIN_KV_BYTES = 8 + 4 + 1;
/** The fewest bytes one tensor info can take: name length, n_dims, one dim, type, offset. */
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;

const VALUE_TYPE_NAMES: Record<number, string> = {
  [GgufValueType.UINT8]: "uint8",
  [GgufValueType.INT8]: "int8",
  [GgufValueType.UINT16]: "uint16",
  [GgufValueType.INT16]: "int16",
  [GgufValueType.UINT32]: "uint32",
  [GgufValueType.INT32]: "int32",
  [GgufValueType.FLOAT32]: "float32",
  [GgufValueType.BOOL]: "bool",
  [GgufValueType.STRING]: "string",
  [GgufValueType.ARRAY]: "array",
  [GgufValueType.UINT64]: "uint64",
  [GgufValueType.INT64]: "int64",
  [GgufValueType.FLOAT64]: "float64",
};

/** Smallest encoded size of one value of a type (for checking counts before reading). */
function minValueBytes(type: number): number {
  switch (type) {
    case GgufValueType.UINT8:
    case GgufValueType.INT8:
    case GgufValueType.BOOL:
      return 1;
    case GgufValueType.UINT16:
    case GgufValueType.INT16:
      return 2;
    case GgufValueType.UINT32:
    case GgufValueType.INT32:
    case GgufValueType.FLOAT32:
      return 4;
    case GgufValueType.UINT64:
    case GgufValueType.INT64:
    case GgufValueType.FLOAT64:
    case GgufValueType.STRING:
      return 8;
    default:
      return 12; // array: item type + count
  }
}

interface PendingArray {
  key: string;
  itemType: number;
  count: number;
  items: GgufValue[];
  tag: GgufTypeTag | null;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export class GgufStreamParser {
  private readonly fileSize: number | undefined;
  private readonly maxHeaderBytes: number;

  // Unconsumed bytes live in buf[0, len); base is the file offset of buf[0].
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private len = 0;
  private base = 0;
  /** Read position of the last completed item. */
  private pos = 0;
  /** Tentative read position inside the item being read. */
  private cur = 0;
  /** What is being read, for "the file ended while reading …" messages. */
  private reading = "the GGUF magic";

  private phase: "preamble" | "metadata" | "tensors" | "done" = "preamble";
  private version = 0;
  private tensorCount = 0;
  private kvCount = 0;
  private readonly metadata: Record<string, GgufValue> = Object.create(null);
  private readonly metadataTypes: Record<string, GgufTypeTag> = Object.create(null);
  private pendingArray: PendingArray | null = null;
  private readonly tensors: GgufTensorInfo[] = [];
  private readonly tensorNames = new Set<string>();
  private header: GgufHeader | null = null;
  private failure: GgufError | null = null;

  constructor(options: GgufParserOptions = {}) {
    const { fileSize, maxHeaderBytes = 256 * 1024 * 1024 } = options;
    if (fileSize !== undefined && !(Number.isSafeInteger(fileSize) && fileSize >= 0)) {
      throw new GgufError(`file size ${fileSize} is not a byte count`);
    }
    this.fileSize = fileSize;
    this.maxHeaderBytes = maxHeaderBytes;
  }

  /** Bytes taken so far (the whole header once push() has returned it). */
  get bytesSeen(): number {
    return this.base + this.len;
  }

  /**
   * Feeds the next bytes of the file. Returns the header as soon as it is complete,
   * null while more bytes are needed; throws GgufError as soon as the bytes are wrong.
   */
  push(chunk: Uint8Array): GgufHeader | null {
    if (this.failure) throw this.failure;
    if (this.header) return this.header;
    this.append(chunk);
    try {
      this.run();
      return this.header;
    } catch (e) {
      if (e === NEED_MORE) return null;
      this.failure =
        e instanceof GgufError ? e : new GgufError(`unreadable GGUF header: ${String(e)}`);
      throw this.failure;
    }
  }

  /** Says the file has ended: returns the header, or throws if it ended inside it. */
  end(): GgufHeader {
    if (this.failure) throw this.failure;
    if (this.header) return this.header;
    throw new GgufError(
      `truncated header: the file ended after ${this.bytesSeen} bytes, while reading ${this.reading}`,
    );
  }

  private append(chunk: Uint8Array) {
    // Drop consumed bytes, then grow by doubling so appends stay amortised O(n).
    if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.len);
      this.len -= this.pos;
      this.base += this.pos;
      this.pos = 0;
    }
    const needed = this.len + chunk.length;
    if (needed > this.buf.length) {
      const grown = new Uint8Array(Math.max(needed, this.buf.length * 2, 4096));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    this.buf.set(chunk, this.len);
    this.len = needed;
  }

  private run() {
    if (this.phase === "preamble") this.readPreamble();
    if (this.phase === "metadata") this.readMetadata();
    if (this.phase === "tensors") this.readTensorInfos();
  }

  // ---- primitive reads at `cur`; each checks the bytes exist first ----

  private need(n: number) {
    const end = this.base + this.cur + n;
    if (this.fileSize !== undefined && end > this.fileSize) {
      throw new GgufError(
        `truncated header: the file is ${this.fileSize} bytes but ${this.reading} needs bytes up to ${end}`,
      );
    }
    if (end > this.maxHeaderBytes) {
      throw new GgufError(
        `the header is larger than ${this.maxHeaderBytes} bytes (at ${this.reading}); this is not a sane GGUF file`,
      );
    }
    if (this.cur + n > this.len) throw NEED_MORE;
  }

  /** Bytes that can still follow the cursor, as far as we know. */
  private remaining(): number {
    const limit =
      this.fileSize === undefined
        ? this.maxHeaderBytes
        : Math.min(this.fileSize, this.maxHeaderBytes);
    return limit - (this.base + this.cur);
  }

  private u8() {
    this.need(1);
    return this.buf[this.cur++];
  }
  private u32() {
    this.need(4);
    const v = this.view.getUint32(this.cur, true);
    this.cur += 4;
    return v;
  }
  private u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.cur, true);
    this.cur += 8;
    return v;
  }
  /** A u64 that must fit a JS number and stay below `max`. */
  private count(what: string, max: number): number {
    const v = this.u64();
    if (v > BigInt(max)) {
      const size = this.fileSize === undefined ? "" : ` of ${this.fileSize} bytes`;
      throw new GgufError(
        `${what} is ${v}, more than a file${size} can hold (at most ${max}): corrupt or truncated header`,
      );
    }
    return Number(v);
  }

  private string(maxBytes: number, what: string): string {
    // the length as two halves: a BigInt per string costs a third of a vocabulary's parse
    this.need(8);
    const length =
      this.view.getUint32(this.cur + 4, true) * 2 ** 32 + this.view.getUint32(this.cur, true);
    this.cur += 8;
    const room = this.remaining();
    if (length > Math.min(maxBytes, room)) {
      throw new GgufError(
        length > BigInt(room)
          ? `${what} has length ${length}, larger than the ${room} bytes left in the file`
          : `${what} has length ${length}, longer than the ${maxBytes}-byte limit`,
      );
    }
    const n = length;
    this.need(n);
    const bytes = this.buf.subarray(this.cur, this.cur + n);
    this.cur += n;
    if (n <= 32) {
      const short = shortUtf8(bytes);
      if (short !== undefined) return short;
    }
    try {
      return utf8.decode(bytes);
    } catch {
      throw new GgufError(`${what} is not valid UTF-8`);
    }
  }

  private value(type: number, depth: number, what: string): { value: GgufValue; tag: GgufTypeTag } {
    const v = this.view;
    switch (type) {
      case GgufValueType.UINT8:
        return { value: this.u8(), tag: type };
      case GgufValueType.INT8:
        this.need(1);
        return { value: v.getInt8(this.cur++), tag: type };
      case GgufValueType.BOOL: {
        const b = this.u8();
        if (b > 1) throw new GgufError(`${what} is a bool but holds the byte ${b} (not 0 or 1)`);
        return { value: b === 1, tag: type };
      }
      case GgufValueType.UINT16:
      case GgufValueType.INT16: {
        this.need(2);
        const x =
          type === GgufValueType.UINT16 ? v.getUint16(this.cur, true) : v.getInt16(this.cur, true);
        this.cur += 2;
        return { value: x, tag: type };
      }
      case GgufValueType.UINT32:
      case GgufValueType.INT32:
      case GgufValueType.FLOAT32: {
        this.need(4);
        const x =
          type === GgufValueType.UINT32
            ? v.getUint32(this.cur, true)
            : type === GgufValueType.INT32
              ? v.getInt32(this.cur, true)
              : v.getFloat32(this.cur, true);
        this.cur += 4;
        return { value: x, tag: type };
      }
      case GgufValueType.UINT64:
      case GgufValueType.INT64:
      case GgufValueType.FLOAT64: {
        this.need(8);
        const x =
          type === GgufValueType.UINT64
            ? v.getBigUint64(this.cur, true)
            : type === GgufValueType.INT64
              ? v.getBigInt64(this.cur, true)
              : v.getFloat64(this.cur, true);
        this.cur += 8;
        return { value: x, tag: type };
      }
      case GgufValueType.STRING:
        return { value: this.string(MAX_STRING_BYTES, what), tag: type };
      case GgufValueType.ARRAY: {
        if (depth >= MAX_ARRAY_DEPTH) {
          throw new GgufError(`${what} nests arrays deeper than ${MAX_ARRAY_DEPTH} levels`);
        }
        const { itemType, count } = this.arrayHead(what);
        const items: GgufValue[] = [];
        let itemTag: GgufTypeTag | null = itemType === GgufValueType.ARRAY ? null : itemType;
        for (let i = 0; i < count; i++) {
          const item = this.value(itemType, depth + 1, `${what}[${i}]`);
          items.push(item.value);
          itemTag ??= item.tag;
        }
        return { value: items, tag: { array: itemTag ?? { array: GgufValueType.UINT8 } } };
      }
      default:
        throw new GgufError(`${what} has unknown value type ${type}`);
    }
  }

  private arrayHead(what: string): { itemType: number; count: number } {
    const itemType = this.u32();
    if (!(itemType in VALUE_TYPE_NAMES)) {
      throw new GgufError(`${what} is an array of unknown value type ${itemType}`);
    }
    const room = this.remaining();
    const perItem = minValueBytes(itemType);
    const count = this.u64();
    if (count * BigInt(perItem) > BigInt(room)) {
      throw new GgufError(
        `${what} claims ${count} ${VALUE_TYPE_NAMES[itemType]} items, more than the ${room} bytes left in the file can hold`,
      );
    }
    return { itemType, count: Number(count) };
  }

  private commit() {
    this.pos = this.cur;
  }

  // ---- the three parts of the header ----

  private readPreamble() {
    this.cur = this.pos;
    this.need(4);
    const magic = this.u32();
    if (magic !== GGUF_MAGIC) {
      const seen = Array.from(this.buf.subarray(0, 4), (b) => b.toString(16).padStart(2, "0"));
      throw new GgufError(
        `bad magic: this is not a GGUF file (it starts with bytes ${seen.join(" ")}, expected "GGUF")`,
      );
    }
    this.reading = "the GGUF version";
    const version = this.u32();
    if (version !== 2 && version !== 3) {
      // A big-endian v2/v3 file reads as 0x02000000 / 0x03000000 here.
      const hint = version === 0x02000000 || version === 0x03000000 ? " (a big-endian file?)" : "";
      throw new GgufError(
        `unsupported GGUF version ${version}${hint}: only versions 2 and 3 are supported`,
      );
    }
    this.reading = "the tensor count";
    const tensorCount = this.count(
      "the tensor count",
      Math.floor(this.remaining() / MIN_TENSOR_INFO_BYTES),
    );
    this.reading = "the metadata count";
    const kvCount = this.count(
      "the metadata key/value count",
      Math.floor(this.remaining() / MIN_KV_BYTES),
    );
    this.version = version;
    this.tensorCount = tensorCount;
    this.kvCount = kvCount;
    this.commit();
    this.phase = "metadata";
  }

  private readMetadata() {
    let index = Object.keys(this.metadata).length;
    while (index < this.kvCount) {
      let pending = this.pendingArray;
      if (!pending) {
        this.cur = this.pos;
        const where = `metadata key ${index + 1} of ${this.kvCount}`;
        this.reading = where;
        const key = this.string(MAX_KEY_BYTES, `the name of ${where}`);
        if (key in this.metadata) throw new GgufError(`metadata key "${key}" appears twice`);
        this.reading = `the value of metadata key "${key}"`;
        const type = this.u32();
        if (type !== GgufValueType.ARRAY) {
          if (!(type in VALUE_TYPE_NAMES)) {
            throw new GgufError(`metadata key "${key}" has unknown value type ${type}`);
          }
          const { value, tag } = this.value(type, 0, `metadata key "${key}"`);
          this.metadata[key] = value;
          this.metadataTypes[key] = tag;
          this.commit();
          index++;
          continue;
        }
        const { itemType, count } = this.arrayHead(`metadata key "${key}"`);
        pending = {
          key,
          itemType,
          count,
          items: [],
          tag: itemType === GgufValueType.ARRAY ? null : itemType,
        };
        this.pendingArray = pending;
        this.commit();
      }
      // Arrays (the vocabulary: 128k strings) are read item by item, so a chunk
      // boundary costs one item, not the whole array.
      const what = `metadata key "${pending.key}"`;
      while (pending.items.length < pending.count) {
        this.cur = this.pos;
        this.reading = `item ${pending.items.length} of ${what}`;
        const item = this.value(pending.itemType, 1, `${what}[${pending.items.length}]`);
        pending.items.push(item.value);
        pending.tag ??= item.tag;
        this.commit();
      }
      this.metadata[pending.key] = pending.items;
      this.metadataTypes[pending.key] = {
        array: pending.tag ?? { array: GgufValueType.UINT8 },
      };
      this.pendingArray = null;
      index++;
    }
    this.phase = "tensors";
  }

  private readTensorInfos() {
    while (this.tensors.length < this.tensorCount) {
      this.cur = this.pos;
      const where = `tensor info ${this.tensors.length + 1} of ${this.tensorCount}`;
      this.reading = where;
      const name = this.string(MAX_TENSOR_NAME_BYTES, `the name of ${where}`);
      if (this.tensorNames.has(name)) throw new GgufError(`tensor "${name}" appears twice`);
      this.reading = `the tensor info of "${name}"`;
      const nDims = this.u32();
      if (nDims < 1 || nDims > MAX_DIMS) {
        throw new GgufError(`tensor "${name}" has ${nDims} dimensions (must be 1 to ${MAX_DIMS})`);
      }
      const shape: number[] = [];
      for (let d = 0; d < nDims; d++) {
        const dim = this.u64();
        if (dim < 1n || dim > BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new GgufError(`tensor "${name}" has an impossible dimension ${dim}`);
        }
        shape.push(Number(dim));
      }
      if (!Number.isSafeInteger(elementCount(shape))) {
        throw new GgufError(`tensor "${name}" has too many elements (${shape.join(" × ")})`);
      }
      const typeId = this.u32();
      if (!isGgmlType(typeId)) {
        throw new GgufError(
          `tensor "${name}" has type ${ggmlTypeName(typeId)}, which Trit cannot read (F32, F16, BF16, I2_S, TQ1_0, TQ2_0)`,
        );
      }
      const offset = this.u64();
      if (offset > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new GgufError(`tensor "${name}" has an impossible data offset ${offset}`);
      }
      const byteLength = tensorByteLength(typeId, shape, `tensor "${name}"`);
      this.tensors.push({ name, type: typeId, shape, offset: Number(offset), byteLength });
      this.tensorNames.add(name);
      this.commit();
    }
    this.finish();
  }

  private finish() {
    const alignment = this.alignment();
    const dataOffset = alignUp(this.base + this.pos, alignment);
    for (const t of this.tensors) {
      if (t.offset % alignment !== 0) {
        throw new GgufError(
          `tensor "${t.name}" starts at data offset ${t.offset}, not a multiple of the alignment ${alignment}`,
        );
      }
    }
    const byOffset = [...this.tensors].sort((a, b) => a.offset - b.offset);
    for (let i = 0; i < byOffset.length; i++) {
      const t = byOffset[i];
      const end = dataOffset + t.offset + t.byteLength;
      if (this.fileSize !== undefined && end > this.fileSize) {
        throw new GgufError(
          `tensor "${t.name}" runs past the end of the file: it needs bytes up to ${end} but the file has ${this.fileSize}`,
        );
      }
      const next = byOffset[i + 1];
      if (next && t.offset + t.byteLength > next.offset) {
        throw new GgufError(
          `tensors "${t.name}" and "${next.name}" overlap (data offsets ${t.offset}+${t.byteLength} and ${next.offset})`,
        );
      }
    }
    this.phase = "done";
    this.reading = "tensor data";
    this.header = {
      version: this.version,
      metadata: this.metadata,
      metadataTypes: this.metadataTypes,
      tensors: this.tensors,
      alignment,
      dataOffset,
    };
  }

  private alignment(): number {
    if (!("general.alignment" in this.metadata)) return GGUF_DEFAULT_ALIGNMENT;
    const value = this.metadata["general.alignment"];
    if (this.metadataTypes["general.alignment"] !== GgufValueType.UINT32) {
      throw new GgufError("general.alignment must be a uint32");
    }
    const a = value as number;
    if (a === 0 || !Number.isInteger(Math.log2(a))) {
      throw new GgufError(`general.alignment is ${a}, not a power of two`);
    }
    return a;
  }
}

/** Parses a whole GGUF header held in memory (tests, small files). */
export function parseGgufHeader(bytes: Uint8Array): GgufHeader {
  const parser = new GgufStreamParser({ fileSize: bytes.length });
  return parser.push(bytes) ?? parser.end();
}

const codes: number[] = [];

/**
 * A short string of one- and two-byte UTF-8 sequences (most tokens and merges: byte-level
 * BPE spells a space as U+0120), decoded without a TextDecoder call, which costs more than
 * the decoding for a few bytes; undefined for anything else (the decoder then checks it).
 */
function shortUtf8(bytes: Uint8Array): string | undefined {
  codes.length = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 0x80) codes.push(b);
    else if (b >= 0xc2 && b <= 0xdf && i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80) {
      codes.push(((b & 0x1f) << 6) | (bytes[++i] & 0x3f));
    } else return undefined;
  }
  return String.fromCharCode.apply(null, codes);
}
