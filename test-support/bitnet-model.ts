/**
 * Writes deterministic BitNet GGUF files of any size with random ternary weights, in
 * several weight formats at once (each tensor is generated once and encoded for every
 * output), streaming tensor by tensor so memory stays low at the 2B4T shape.
 *
 * Every format holds the same weights: ternary codes × an f16-exact per-tensor scale,
 * embeddings rounded to f16 (written as f32 in the f32 file). Files llama.cpp should load
 * use its architecture name `bitnet` (SiLU FFN in its graph); i2_s files use
 * `bitnet-b1.58`, as the published 2B4T file does (relu² FFN).
 */
import { rename, rm } from "node:fs/promises";
import type { BitNetConfig } from "../src/engine/bitnet/config.ts";
import { bitnetTensorShapes, type ExpectedTensor } from "../src/engine/bitnet/config.ts";
import {
  elementCount,
  encodeFloats,
  encodeTernary,
  floatToHalf,
  GgmlType,
  type GgufTypedValue,
  halfToFloat,
  roundToHalf,
  GgufValueType as T,
} from "../src/engine/gguf/index.ts";
import { GgufWriter } from "../src/engine/gguf/node.ts";
import { Prng } from "./prng.ts";

export type WeightFormat = "i2_s" | "tq1_0" | "tq2_0" | "f16" | "f32";
export const WEIGHT_FORMATS: readonly WeightFormat[] = ["i2_s", "tq1_0", "tq2_0", "f16", "f32"];

export interface ModelShape {
  layers: number;
  hidden: number;
  ffn: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  contextLength: number;
  ropeTheta: number;
  normEps: number;
}

/** Small enough for unit tests, real enough to exercise GQA, sub-norms and TQ blocks. */
export const TINY_SHAPE: ModelShape = {
  layers: 3,
  hidden: 256,
  ffn: 768,
  heads: 4,
  kvHeads: 2,
  vocab: 128256,
  contextLength: 512,
  ropeTheta: 500000,
  normEps: 1e-5,
};

/** BitNet b1.58 2B4T's exact shape (its config.json). */
export const BITNET_2B4T_SHAPE: ModelShape = {
  layers: 30,
  hidden: 2560,
  ffn: 6912,
  heads: 20,
  kvHeads: 5,
  vocab: 128256,
  contextLength: 4096,
  ropeTheta: 500000,
  normEps: 1e-5,
};

const FORMAT_TYPE: Record<WeightFormat, GgmlType> = {
  i2_s: GgmlType.I2_S,
  tq1_0: GgmlType.TQ1_0,
  tq2_0: GgmlType.TQ2_0,
  f16: GgmlType.F16,
  f32: GgmlType.F32,
};

/** llama.cpp's LLAMA_FTYPE_* (llama.h); 40 = MOSTLY_I2_S in the BitNet fork's converter. */
const FILE_TYPE: Record<WeightFormat, number> = { i2_s: 40, tq1_0: 36, tq2_0: 37, f16: 1, f32: 0 };

export function architectureFor(format: WeightFormat): string {
  return format === "i2_s" ? "bitnet-b1.58" : "bitnet";
}

export function configFor(shape: ModelShape, format: WeightFormat): BitNetConfig {
  return {
    architecture: architectureFor(format),
    ...shape,
    headDim: shape.hidden / shape.heads,
    activation: format === "i2_s" ? "relu2" : "silu",
  };
}

/** The GGUF type each tensor gets in a format: norms F32, embedding F16 (F32 in f32). */
function tensorType(t: ExpectedTensor, format: WeightFormat): GgmlType {
  if (t.role === "norm") return GgmlType.F32;
  if (t.role === "embedding") return format === "f32" ? GgmlType.F32 : GgmlType.F16;
  return FORMAT_TYPE[format];
}

export function modelMetadata(
  shape: ModelShape,
  format: WeightFormat,
  name: string,
  tokenizer: Record<string, GgufTypedValue>,
): Record<string, GgufTypedValue> {
  const arch = architectureFor(format);
  const u32 = (value: number): GgufTypedValue => ({ type: T.UINT32, value });
  const f32 = (value: number): GgufTypedValue => ({ type: T.FLOAT32, value });
  return {
    "general.architecture": { type: T.STRING, value: arch },
    "general.name": { type: T.STRING, value: name },
    "general.file_type": u32(FILE_TYPE[format]),
    "general.quantization_version": u32(2),
    [`${arch}.vocab_size`]: u32(shape.vocab),
    [`${arch}.context_length`]: u32(shape.contextLength),
    [`${arch}.embedding_length`]: u32(shape.hidden),
    [`${arch}.block_count`]: u32(shape.layers),
    [`${arch}.feed_forward_length`]: u32(shape.ffn),
    [`${arch}.rope.dimension_count`]: u32(shape.hidden / shape.heads),
    [`${arch}.attention.head_count`]: u32(shape.heads),
    [`${arch}.attention.head_count_kv`]: u32(shape.kvHeads),
    [`${arch}.rope.freq_base`]: f32(shape.ropeTheta),
    [`${arch}.attention.layer_norm_rms_epsilon`]: f32(shape.normEps),
    ...tokenizer,
  };
}

/**
 * Per-tensor scale so activations stay in a sane range: a ternary row with about 2/3
 * nonzero weights over n inputs of rms 1 gives outputs of rms scale·√(2n/3), so
 * scale = gain / √(2n/3); jittered ±20 % per tensor and rounded to f16.
 */
function ternaryScale(t: ExpectedTensor, shape: ModelShape, rng: Prng): number {
  const fanIn = t.shape[0];
  const embeddingStd = 4 / Math.sqrt(shape.hidden);
  const role = t.name.split(".")[2];
  // q·k logits of std ≈ 1.7; v, gate and up of rms ≈ 1. The two projections that write
  // into the residual stream (attn_output, ffn_down) add RESIDUAL_GAIN × the embedding's
  // size: with the head tied to the embedding, a residual stream that is mostly the
  // input token's own embedding makes every model just repeat its last token.
  const gain =
    role === "attn_q" || role === "attn_k"
      ? 1.3
      : role === "attn_output" || role === "ffn_down"
        ? RESIDUAL_GAIN * embeddingStd
        : 1;
  return roundToHalf((gain / Math.sqrt((2 * fanIn) / 3)) * (0.8 + 0.4 * rng.next()));
}

/** Checked with node-llama-cpp: at 1 the tiny model repeats its input; at 4 it does not. */
const RESIDUAL_GAIN = 4;

export interface ModelOutput {
  path: string;
  format: WeightFormat;
}

export interface WriteModelsOptions {
  seed: number;
  /** general.name */
  name: string;
  /** tokenizer.* keys; tokenizer.ggml.tokens must have shape.vocab entries. */
  tokenizer: Record<string, GgufTypedValue>;
  /** Embedding rows generated per piece (memory vs. write calls). */
  rowsPerPiece?: number;
  onTensor?: (name: string, index: number, total: number) => void;
}

/**
 * Writes one file per output, all from the same random weights. Each file is written
 * under a temporary name and renamed when complete, so a reader never sees half a file.
 */
export async function writeBitNetModels(
  shape: ModelShape,
  outputs: readonly ModelOutput[],
  options: WriteModelsOptions,
): Promise<void> {
  const { seed, rowsPerPiece = 1024 } = options;
  const expected = bitnetTensorShapes(configFor(shape, "f32"));
  const writers: GgufWriter[] = [];
  try {
    for (const out of outputs) {
      const specs = expected.map((t) => ({
        name: t.name,
        shape: t.shape,
        type: tensorType(t, out.format),
      }));
      const metadata = modelMetadata(shape, out.format, options.name, options.tokenizer);
      writers.push(await GgufWriter.create(`${out.path}.partial`, metadata, specs));
    }
    for (const [index, t] of expected.entries()) {
      options.onTensor?.(t.name, index, expected.length);
      const rng = Prng.forLabel(seed, t.name);
      if (t.role === "embedding") {
        await writeEmbedding(t, shape, rng, rowsPerPiece, outputs, writers);
      } else if (t.role === "norm") {
        // Near 1 with visible noise, so a wrong norm weight changes the output.
        const values = Float32Array.from(
          { length: elementCount(t.shape) },
          () => 0.8 + 0.4 * rng.next(),
        );
        const bytes = encodeFloats(GgmlType.F32, values);
        for (const w of writers) await w.writeTensor(t.name, bytes);
      } else {
        const scale = ternaryScale(t, shape, rng);
        const codes = new Int8Array(elementCount(t.shape));
        rng.ternary(codes);
        const encoded = new Map<GgmlType, Uint8Array>();
        for (const [i, out] of outputs.entries()) {
          const type = FORMAT_TYPE[out.format];
          let bytes = encoded.get(type);
          if (!bytes) {
            bytes = encodeTernary(type, codes, scale);
            encoded.set(type, bytes);
          }
          await writers[i].writeTensor(t.name, bytes);
        }
      }
    }
    for (const w of writers.splice(0)) await w.close();
    for (const out of outputs) await rename(`${out.path}.partial`, out.path);
  } catch (e) {
    for (const w of writers) await w.close().catch(() => {});
    for (const out of outputs) await rm(`${out.path}.partial`, { force: true });
    throw e;
  }
}

/**
 * The embedding in pieces of rows: normal values of std 4/√hidden, drawn directly as f16
 * so the f16 and f32 files hold the same numbers. Each piece is generated once and
 * every writer gets its encoding of it.
 */
async function writeEmbedding(
  t: ExpectedTensor,
  shape: ModelShape,
  rng: Prng,
  rowsPerPiece: number,
  outputs: readonly ModelOutput[],
  writers: GgufWriter[],
) {
  const std = 4 / Math.sqrt(shape.hidden);
  for (let row = 0; row < shape.vocab; row += rowsPerPiece) {
    const count = Math.min(rowsPerPiece, shape.vocab - row) * shape.hidden;
    const f16 = new Uint8Array(count * 2);
    const f16View = new DataView(f16.buffer);
    const f32 = new Uint8Array(count * 4);
    const f32View = new DataView(f32.buffer);
    for (let i = 0; i < count; i++) {
      const bits = floatToHalf(rng.normal() * std);
      f16View.setUint16(2 * i, bits, true);
      f32View.setFloat32(4 * i, halfToFloat(bits), true);
    }
    for (const [i, w] of writers.entries()) {
      await w.writePiece(t.name, outputs[i].format === "f32" ? f32 : f16);
    }
  }
  for (const w of writers) await w.endTensor(t.name);
}
