/**
 * A small BitNet GGUF in memory (2 layers, hidden 256, vocab 64) with ternary weights in a
 * chosen type, an F16 embedding and F32 norms, for tests that load a file.
 */
import { type BitNetConfig, bitnetTensorShapes } from "../src/engine/bitnet/config.ts";
import {
  encodeFloats,
  encodeGguf,
  encodeTernary,
  GgmlType,
  type GgufTypedValue,
  GgufValueType as T,
} from "../src/engine/gguf/index.ts";
import { mulberry32, smallConfig } from "./random-weights.ts";

export const bitnetFileConfig = smallConfig({
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

/** A BitNet GGUF's hyperparameter keys for `config` under architecture `arch`. */
export function bitnetMetadata(config: BitNetConfig, arch: string): Record<string, GgufTypedValue> {
  const u32 = (value: number): GgufTypedValue => ({ type: T.UINT32, value });
  const f32 = (value: number): GgufTypedValue => ({ type: T.FLOAT32, value });
  return {
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
}

export function bitnetFile(ternaryType: GgmlType, seed = 99): Uint8Array {
  const config = bitnetFileConfig;
  const rand = mulberry32(seed);
  const arch = "bitnet-b1.58";
  const metadata = bitnetMetadata(config, arch);
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
