// GGUF bytes → KernelModel (I2_S copied, TQ2_0 repacked, TQ1_0 via codes, F16 head kept
// as halves) against the reference model loaded from the same file by load-weights.ts.
import { afterAll, describe, expect, it } from "vitest";
import { mulberry32, smallConfig } from "../../../test-support/random-weights.ts";
import { bitnetTensorShapes } from "../bitnet/config.ts";
import {
  encodeFloats,
  encodeGguf,
  encodeTernary,
  GgmlType,
  type GgufTypedValue,
  GgufValueType as T,
} from "../gguf/index.ts";
import { ReferenceModel } from "../reference/forward.ts";
import { loadBitNetWeights } from "../reference/load-weights.ts";
import { loadKernelWeights } from "./gguf-weights.ts";
import { KernelModel } from "./model.ts";

const config = smallConfig({
  layers: 2,
  hidden: 256,
  ffn: 512,
  heads: 4,
  kvHeads: 2,
  headDim: 64,
  vocab: 64,
  contextLength: 32,
  ropeTheta: 500000,
});

function bitnetFile(ternaryType: GgmlType): Uint8Array {
  const rand = mulberry32(99);
  const arch = "bitnet-b1.58";
  const u32 = (value: number): GgufTypedValue => ({ type: T.UINT32, value });
  const f32 = (value: number): GgufTypedValue => ({ type: T.FLOAT32, value });
  const metadata: Record<string, GgufTypedValue> = {
    "general.architecture": { type: T.STRING, value: arch },
    [`${arch}.block_count`]: u32(config.layers),
    [`${arch}.embedding_length`]: u32(config.hidden),
    [`${arch}.feed_forward_length`]: u32(config.ffn),
    [`${arch}.attention.head_count`]: u32(config.heads),
    [`${arch}.attention.head_count_kv`]: u32(config.kvHeads),
    [`${arch}.context_length`]: u32(config.contextLength),
    [`${arch}.vocab_size`]: u32(config.vocab),
    [`${arch}.rope.freq_base`]: f32(config.ropeTheta),
    [`${arch}.attention.layer_norm_rms_epsilon`]: f32(config.normEps),
  };
  const tensors = bitnetTensorShapes(config).map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    let type: GgmlType;
    let data: Uint8Array;
    if (t.role === "ternary") {
      type = ternaryType;
      const codes = Int8Array.from({ length: n }, () => Math.floor(rand() * 3) - 1);
      // a scale that f16 (TQ) and f32 (I2_S) hold exactly
      data = encodeTernary(type, codes, (64 + Math.floor(rand() * 32)) / 1024);
    } else if (t.role === "embedding") {
      type = GgmlType.F16;
      data = encodeFloats(
        type,
        Float32Array.from({ length: n }, () => rand() * 2 - 1),
      );
    } else {
      type = GgmlType.F32;
      data = encodeFloats(
        type,
        Float32Array.from({ length: n }, () => 0.8 + 0.4 * rand()),
      );
    }
    return { name: t.name, shape: t.shape, type, data };
  });
  return encodeGguf(metadata, tensors);
}

const models: KernelModel[] = [];
afterAll(() => {
  for (const m of models) m.dispose();
});

describe("loadKernelWeights", () => {
  for (const [name, type] of [
    ["I2_S", GgmlType.I2_S],
    ["TQ2_0", GgmlType.TQ2_0],
    ["TQ1_0", GgmlType.TQ1_0],
  ] as const) {
    it(`runs a ${name} file with an F16 head like the reference does`, async () => {
      const blob = new Blob([bitnetFile(type) as BlobPart]);
      const model = await KernelModel.create(await loadKernelWeights(blob), { build: "simd128" });
      models.push(model);
      expect(model.exactHead).toBe("f16");
      const reference = new ReferenceModel(await loadBitNetWeights(blob));
      const tokens = [1, 2, 3];
      for (let pos = 0; pos < 10; pos++) {
        const a = reference.forward(tokens[pos], pos);
        const b = model.forward(tokens[pos], pos);
        let diff = 0;
        let best = 0;
        for (let i = 0; i < a.length; i++) {
          diff = Math.max(diff, Math.abs(a[i] - b[i]));
          if (a[i] > a[best]) best = i;
        }
        expect(diff).toBeLessThan(1e-3);
        if (pos >= tokens.length - 1) tokens.push(best);
      }
    });
  }
});
