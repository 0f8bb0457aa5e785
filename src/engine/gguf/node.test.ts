import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { encodeGguf } from "./encode.ts";
import { GgufWriter } from "./node.ts";
import { sampleMetadata, sampleTensors } from "./sample-file.ts";

const dir = mkdtempSync(join(tmpdir(), "trit-writer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("GgufWriter", () => {
  it("streams the same bytes as the in-memory encoder, tensors in pieces", async () => {
    const tensors = sampleTensors();
    const path = join(dir, "streamed.gguf");
    const writer = await GgufWriter.create(path, sampleMetadata(), tensors);
    for (const t of tensors) {
      // Odd-sized pieces, including an empty one.
      const pieces = [t.data.subarray(0, 3), t.data.subarray(3, 3), t.data.subarray(3)];
      await writer.writeTensor(t.name, pieces);
    }
    await writer.close();
    expect(new Uint8Array(readFileSync(path))).toEqual(encodeGguf(sampleMetadata(), tensors));
  });

  it("refuses tensors out of order, of the wrong size, or missing", async () => {
    const tensors = sampleTensors();
    const writer = await GgufWriter.create(join(dir, "bad.gguf"), sampleMetadata(), tensors);
    await expect(writer.writeTensor("f16", tensors[1].data)).rejects.toThrow(
      /"f16" written out of order: "f32" comes next/,
    );
    await expect(writer.writeTensor("f32", tensors[0].data.subarray(1))).rejects.toThrow(
      /"f32" got 23 bytes, its type and shape need 24/,
    );
    const fresh = await GgufWriter.create(join(dir, "short.gguf"), sampleMetadata(), tensors);
    await expect(fresh.writeTensor("f32", new Uint8Array(25))).rejects.toThrow(
      /more than its 24 bytes/,
    );
    await writer.close().catch(() => {});
    const partial = await GgufWriter.create(join(dir, "partial.gguf"), sampleMetadata(), tensors);
    await partial.writeTensor("f32", tensors[0].data);
    await expect(partial.close()).rejects.toThrow(
      /only 1 of 6 tensors were written \(next: "f16"\)/,
    );
    await fresh.close().catch(() => {});
  });
});
