import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBitNetConfig, validateBitNetTensors } from "../src/engine/bitnet/config.ts";
import {
  dequantize,
  elementCount,
  GgmlType,
  type GgufTypedValue,
  readGgufHeader,
  readTensorBytes,
  readTernary,
  GgufValueType as T,
  typedMetadata,
} from "../src/engine/gguf/index.ts";
import { openGgufFile } from "../src/engine/gguf/node.ts";
import { configFor, type ModelShape, WEIGHT_FORMATS, writeBitNetModels } from "./bitnet-model.ts";

const dir = mkdtempSync(join(tmpdir(), "trit-models-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Small enough to write five times in well under a second; TQ needs rows of 256.
const SHAPE: ModelShape = {
  layers: 2,
  hidden: 256,
  ffn: 512,
  heads: 4,
  kvHeads: 2,
  vocab: 300,
  contextLength: 128,
  ropeTheta: 500000,
  normEps: 1e-5,
};

const FAKE_TOKENIZER: Record<string, GgufTypedValue> = {
  "tokenizer.ggml.model": { type: T.STRING, value: "gpt2" },
  "tokenizer.ggml.tokens": {
    type: { array: T.STRING },
    value: Array.from({ length: 300 }, (_, i) => `t${i}`),
  },
  "tokenizer.ggml.token_type": { type: { array: T.INT32 }, value: new Array(300).fill(1) },
  "tokenizer.ggml.merges": { type: { array: T.STRING }, value: ["t 1", "t1 0"] },
  "tokenizer.ggml.bos_token_id": { type: T.UINT32, value: 0 },
};

async function writeAll(sub: string, seed: number) {
  const outputs = WEIGHT_FORMATS.map((format) => ({
    format,
    path: join(dir, sub, `m-${format}.gguf`),
  }));
  const { mkdirSync } = await import("node:fs");
  mkdirSync(join(dir, sub), { recursive: true });
  await writeBitNetModels(SHAPE, outputs, {
    seed,
    name: "test",
    tokenizer: FAKE_TOKENIZER,
    rowsPerPiece: 7, // several pieces, one of them partial
  });
  return outputs;
}

/** Element-wise equality; vitest's deep equal is slow on big typed arrays. */
function sameArray(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("generated BitNet models", () => {
  let outputs: Awaited<ReturnType<typeof writeAll>>;
  beforeAll(async () => {
    outputs = await writeAll("a", 1);
  });

  it("are deterministic: same seed, same bytes; another seed, other bytes", async () => {
    const again = await writeAll("b", 1);
    const other = await writeAll("c", 2);
    for (let i = 0; i < outputs.length; i++) {
      expect(sha(again[i].path)).toBe(sha(outputs[i].path));
      expect(sha(other[i].path)).not.toBe(sha(outputs[i].path));
    }
  });

  it("read back as valid BitNet files with the config they were written with", async () => {
    for (const { path, format } of outputs) {
      const header = await readGgufHeader(await openGgufFile(path));
      const config = readBitNetConfig(header);
      // Hyper-parameter floats are stored as float32.
      expect(config).toEqual({ ...configFor(SHAPE, format), normEps: Math.fround(SHAPE.normEps) });
      expect(config.architecture).toBe(format === "i2_s" ? "bitnet-b1.58" : "bitnet");
      validateBitNetTensors(header, config);
      const md = typedMetadata(header);
      for (const [key, value] of Object.entries(FAKE_TOKENIZER)) expect(md[key]).toEqual(value);
    }
  });

  it("every format holds the same weights", async () => {
    const files = await Promise.all(
      outputs.map(async ({ path, format }) => {
        const blob = await openGgufFile(path);
        return { format, blob, header: await readGgufHeader(blob) };
      }),
    );
    const [first] = files;
    for (const info of first.header.tensors) {
      const n = elementCount(info.shape);
      const per = await Promise.all(
        files.map(async (f) => {
          const t = f.header.tensors.find((x) => x.name === info.name);
          if (!t) throw new Error(`${f.format} lacks ${info.name}`);
          return { type: t.type, bytes: await readTensorBytes(f.blob, f.header, t) };
        }),
      );
      if (info.name.endsWith("norm.weight") || info.name === "token_embd.weight") {
        const want = dequantize(per[0].type, per[0].bytes, n);
        for (const p of per) expect(sameArray(dequantize(p.type, p.bytes, n), want)).toBe(true);
        if (info.name !== "token_embd.weight") {
          // Norm weights near 1 but not 1.
          expect(want.every((v) => v >= 0.8 && v < 1.2)).toBe(true);
          expect(new Set(want).size).toBeGreaterThan(n / 2);
        }
        continue;
      }
      const want = readTernary(per[0].type, per[0].bytes, n);
      expect(want.scale).toBeGreaterThan(0);
      for (const p of per) {
        const got = readTernary(p.type, p.bytes, n);
        expect(got.scale).toBe(want.scale);
        expect(sameArray(got.codes, want.codes)).toBe(true);
      }
      // Roughly a third of each code.
      for (const c of [-1, 0, 1]) {
        let count = 0;
        for (const x of want.codes) if (x === c) count++;
        const share = count / n;
        expect(share).toBeGreaterThan(0.3);
        expect(share).toBeLessThan(0.37);
      }
    }
    for (const f of files) {
      const embedding = f.header.tensors.find((t) => t.name === "token_embd.weight");
      expect(embedding?.type).toBe(f.format === "f32" ? GgmlType.F32 : GgmlType.F16);
    }
  });
});
