import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gguf as hfGguf } from "@huggingface/gguf";
import { afterAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../../../test-support/random-weights.ts";
import { readGgufHeader, readTensorBytes } from "./blob.ts";
import { encodeGguf, typedMetadata } from "./encode.ts";
import { openGgufFile } from "./node.ts";
import { GgufStreamParser, parseGgufHeader } from "./parser.ts";
import { dequantize } from "./quants.ts";
import { sampleGguf, sampleMetadata, sampleTensors } from "./sample-file.ts";
import { GgmlType, GgufError, GgufValueType } from "./types.ts";

const dir = mkdtempSync(join(tmpdir(), "trit-gguf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Feeds bytes in chunks of random sizes; returns the header and how many bytes it took. */
function parseInChunks(bytes: Uint8Array, seed: number, fileSize?: number) {
  const r = mulberry32(seed);
  const parser = new GgufStreamParser({ fileSize });
  let at = 0;
  while (at < bytes.length) {
    const n = 1 + Math.floor(r() * r() * 200);
    const header = parser.push(bytes.subarray(at, at + n));
    at += n;
    if (header) return { header, at };
  }
  return { header: parser.end(), at };
}

function dv(bytes: Uint8Array) {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

describe("round trip", () => {
  const file = sampleGguf();
  const header = parseGgufHeader(file);

  it("gives back every metadata value with its type, nested arrays included", () => {
    expect(header.version).toBe(3);
    expect(typedMetadata(header)).toEqual(sampleMetadata());
  });

  it("gives back tensor infos, alignment and data offset", () => {
    expect(header.alignment).toBe(64);
    expect(header.dataOffset % 64).toBe(0);
    const want = sampleTensors();
    expect(header.tensors.map((t) => [t.name, t.type, t.shape, t.byteLength])).toEqual(
      want.map((t) => [t.name, t.type, t.shape, t.data.length]),
    );
    for (const [i, t] of header.tensors.entries()) {
      expect(t.offset % 64).toBe(0);
      const at = header.dataOffset + t.offset;
      expect(file.subarray(at, at + t.byteLength)).toEqual(want[i].data);
    }
  });

  it("writes back byte for byte", () => {
    const again = encodeGguf(
      typedMetadata(header),
      header.tensors.map((t) => ({
        ...t,
        data: file.subarray(
          header.dataOffset + t.offset,
          header.dataOffset + t.offset + t.byteLength,
        ),
      })),
    );
    expect(again).toEqual(file);
  });

  it("@huggingface/gguf (a second parser) reads what we write", async () => {
    const path = join(dir, "sample.gguf");
    writeFileSync(path, file);
    const theirs = await hfGguf(path, { allowLocalFile: true });
    const md = theirs.metadata as Record<string, unknown>;
    expect(md["test.string_array"]).toEqual(["a", "", "Ġthe", "日本"]);
    expect(md["test.u64"]).toBe(18446744073709551615n);
    expect(md["test.nested"]).toEqual([[1, 2], [], [-3]]);
    expect(theirs.tensorDataOffset).toBe(BigInt(header.dataOffset));
    expect(
      theirs.tensorInfos.map((t) => [t.name, t.dtype, t.shape.map(Number), Number(t.offset)]),
    ).toEqual(header.tensors.map((t) => [t.name, t.type, t.shape, t.offset]));
  });

  it("streaming with chunks of random sizes equals the whole-file parse", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const { header: streamed, at } = parseInChunks(
        file,
        seed,
        seed % 2 ? file.length : undefined,
      );
      expect(streamed).toEqual(header);
      // The header is returned before the tensor data has arrived.
      expect(at).toBeLessThan(header.dataOffset + 200);
    }
  });

  it("reads a Blob by slices and reads tensors from it", async () => {
    const path = join(dir, "blob.gguf");
    writeFileSync(path, file);
    const blob = await openGgufFile(path);
    const fromBlob = await readGgufHeader(blob);
    expect(fromBlob).toEqual(header);
    const tq1 = fromBlob.tensors.find((t) => t.name === "tq1_0");
    if (!tq1) throw new Error("no tq1_0");
    const bytes = await readTensorBytes(blob, fromBlob, tq1);
    // sample-file.ts fills ternary tensors with codes ((7i) mod 3) − 1.
    const want = Float32Array.from({ length: 512 }, (_, i) => (((i * 7) % 3) - 1) * 0.25);
    expect(dequantize(GgmlType.TQ1_0, bytes, 512)).toEqual(want);
  });
});

describe("bad input fails in words", () => {
  const file = sampleGguf();
  const header = parseGgufHeader(file);

  /** Byte offset of tensor info `name` inside the header (its name length field). */
  function tensorInfoAt(name: string): number {
    const needle = new TextEncoder().encode(name);
    for (let i = 24; i < header.dataOffset; i++) {
      if (
        dv(file).getBigUint64(i, true) === BigInt(needle.length) &&
        needle.every((b, k) => file[i + 8 + k] === b) &&
        file[i + 8 + needle.length] <= 4
      ) {
        return i;
      }
    }
    throw new Error(`no tensor info ${name}`);
  }

  const expectError = (bytes: Uint8Array, pattern: RegExp) => {
    expect(() => parseGgufHeader(bytes)).toThrow(GgufError);
    expect(() => parseGgufHeader(bytes)).toThrow(pattern);
  };

  it("bad magic, as soon as 4 bytes arrive", () => {
    const parser = new GgufStreamParser();
    expect(() => parser.push(new TextEncoder().encode("PK\x03\x04"))).toThrow(/bad magic/);
  });

  it("unsupported version, and a big-endian hint", () => {
    const v1 = file.slice();
    dv(v1).setUint32(4, 1, true);
    expectError(v1, /unsupported GGUF version 1/);
    const be = file.slice();
    dv(be).setUint32(4, 3, false);
    expectError(be, /big-endian/);
  });

  it("truncated header, both with a known size and at end of stream", () => {
    expectError(file.subarray(0, 100), /tensor count is 6, more than a file of 100 bytes can hold/);
    expectError(
      file.subarray(0, header.dataOffset - 40),
      /truncated header: the file is \d+ bytes but the tensor info of "tq2_0"/,
    );
    const cut = file.subarray(0, 100);
    const parser = new GgufStreamParser();
    expect(parser.push(cut)).toBeNull();
    expect(() => parser.end()).toThrow(/truncated header: the file ended after 100 bytes/);
  });

  it("counts and string lengths larger than the file, before reading further", () => {
    const kv = file.slice();
    dv(kv).setBigUint64(16, 1n << 40n, true);
    expectError(kv, /metadata key\/value count is 1099511627776, more than a file/);
    const tensors = file.slice();
    dv(tensors).setBigUint64(8, 1n << 62n, true);
    expectError(tensors, /tensor count/);
    const keyLength = file.slice();
    dv(keyLength).setBigUint64(24, 1n << 50n, true);
    expectError(keyLength, /the name of metadata key 1 of \d+ has length \d+, larger than/);
    // Streaming without a size: the cap on header size catches a huge length at once.
    const parser = new GgufStreamParser();
    expect(() => parser.push(keyLength.subarray(0, 40))).toThrow(/larger than/);
  });

  it("an array count larger than the file", () => {
    const bytes = file.slice();
    const key = new TextEncoder().encode("test.string_array");
    let at = -1;
    for (let i = 0; i < bytes.length && at < 0; i++) {
      if (key.every((b, k) => bytes[i + k] === b)) at = i + key.length;
    }
    // key, then type u32 (array), item type u32, count u64
    dv(bytes).setBigUint64(at + 8, 1n << 32n, true);
    expectError(bytes, /claims 4294967296 string items/);
  });

  it("an unknown tensor type, by name", () => {
    const bytes = file.slice();
    const at = tensorInfoAt("tq2_0") + 8 + 5 + 4 + 8; // name, n_dims, one dim
    dv(bytes).setUint32(at, 12, true);
    expectError(bytes, /tensor "tq2_0" has type Q4_K \(id 12\), which Trit cannot read/);
    dv(bytes).setUint32(at, 99, true);
    expectError(bytes, /unknown type id 99/);
  });

  it("a tensor that runs past the end of the file", () => {
    expectError(
      file.subarray(0, file.length - 100),
      /tensor "tq2_0" runs past the end of the file/,
    );
  });

  it("overlapping tensors and misaligned offsets", () => {
    const bytes = file.slice();
    const at = tensorInfoAt("bf16") + 8 + 4 + 4 + 4 * 8 + 4; // name, n_dims, 4 dims, type
    dv(bytes).setBigUint64(at, 0n, true);
    expectError(bytes, /tensors "f32" and "bf16" overlap|tensors "bf16" and "f32" overlap/);
    dv(bytes).setBigUint64(at, 65n, true);
    expectError(bytes, /not a multiple of the alignment 64/);
  });

  it("a row length that is not a whole number of blocks", () => {
    const bytes = file.slice();
    const at = tensorInfoAt("tq1_0") + 8 + 5 + 4;
    dv(bytes).setBigUint64(at, 100n, true);
    expectError(bytes, /row length 100 is not a multiple of the TQ1_0 block size 256/);
  });

  it("bad alignment, duplicate keys, bad bools, invalid UTF-8", () => {
    const md = sampleMetadata();
    md["general.alignment"] = { type: GgufValueType.UINT32, value: 48 };
    expect(() => encodeGguf(md, [])).toThrow(/not a power of two/);
    // Rename "test.u16" to "test.u8" → a duplicate key.
    const dup = file.slice();
    const name = new TextEncoder().encode("test.u16");
    for (let i = 0; i < dup.length; i++) {
      if (name.every((b, k) => dup[i + k] === b)) {
        dv(dup).setBigUint64(i - 8, 7n, true);
        dup[i + 7] = 0; // shorten; the stray byte becomes part of the type field
        break;
      }
    }
    expect(() => parseGgufHeader(dup)).toThrow(GgufError);
    const bool = file.slice();
    const boolKey = new TextEncoder().encode("test.bool");
    for (let i = 0; i < bool.length; i++) {
      if (boolKey.every((b, k) => bool[i + k] === b)) {
        bool[i + boolKey.length + 4] = 7;
        break;
      }
    }
    expectError(bool, /"test.bool" is a bool but holds the byte 7/);
    const utf = file.slice();
    const s = new TextEncoder().encode("héllo");
    for (let i = 0; i < utf.length; i++) {
      if (s.every((b, k) => utf[i + k] === b)) {
        utf[i + 1] = 0xff;
        break;
      }
    }
    expectError(utf, /"test.string" is not valid UTF-8/);
  });

  it("a duplicate key is named", () => {
    const md = {
      a: { type: GgufValueType.UINT8, value: 1 },
      b: { type: GgufValueType.UINT8, value: 2 },
    };
    const bytes = encodeGguf(md as never, []);
    bytes[bytes.indexOf("b".charCodeAt(0))] = "a".charCodeAt(0); // key "b" → "a"
    expectError(bytes, /metadata key "a" appears twice/);
  });
});
