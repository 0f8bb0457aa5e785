import { createHash } from "node:crypto";
import { mulberry32 } from "../../../test-support/random-weights.ts";
import type { BitNetConfig } from "../../engine/bitnet/config.ts";
import { bitnetTensorShapes } from "../../engine/bitnet/config.ts";
import { type EncodedHeader, encodeGgufHeader } from "../../engine/gguf/encode.ts";
import { GgmlType, type GgufTypedValue, GgufValueType as T } from "../../engine/gguf/types.ts";

/**
 * Small BitNet GGUF files for the store's tests: a real header with the full tensor set
 * (the store's default check parses it), then noise as tensor data.
 */

/** Fills `out` from `from` on with pseudo-random bytes. */
export function noise(out: Uint8Array, from: number, seed: number): void {
  const next = mulberry32(seed);
  for (let i = from; i < out.length; i++) out[i] = Math.floor(next() * 256);
}

/**
 * A BitNet GGUF of about `approxBytes`: a real header with the full tensor set (the
 * store's default check parses it), then noise as tensor data. The vocabulary sets the size.
 */
export function bitnetFile(
  approxBytes: number,
  seed: number,
  architecture = "bitnet",
): Uint8Array<ArrayBuffer> {
  // The embedding (hidden × vocab, F16) is the only part that grows with the vocabulary.
  const fixed = bitnetHeader(16, architecture).fileSize - 16 * HIDDEN * 2;
  const vocab = Math.max(16, Math.round((approxBytes - fixed) / (HIDDEN * 2)));
  return withNoise(bitnetHeader(vocab, architecture), seed);
}

const HIDDEN = 32;

function bitnetHeader(vocab: number, architecture: string): EncodedHeader {
  const config: BitNetConfig = {
    architecture,
    layers: 1,
    hidden: HIDDEN,
    ffn: 32,
    heads: 2,
    kvHeads: 1,
    headDim: HIDDEN / 2,
    vocab,
    contextLength: 256,
    ropeTheta: 500000,
    normEps: 1e-5,
    activation: "silu",
  };
  const u32 = (value: number): GgufTypedValue => ({ type: T.UINT32, value });
  const metadata: Record<string, GgufTypedValue> = {
    "general.architecture": { type: T.STRING, value: architecture },
    [`${architecture}.vocab_size`]: u32(vocab),
    [`${architecture}.context_length`]: u32(config.contextLength),
    [`${architecture}.embedding_length`]: u32(config.hidden),
    [`${architecture}.block_count`]: u32(config.layers),
    [`${architecture}.feed_forward_length`]: u32(config.ffn),
    [`${architecture}.attention.head_count`]: u32(config.heads),
    [`${architecture}.attention.head_count_kv`]: u32(config.kvHeads),
    [`${architecture}.rope.freq_base`]: { type: T.FLOAT32, value: config.ropeTheta },
    [`${architecture}.attention.layer_norm_rms_epsilon`]: {
      type: T.FLOAT32,
      value: config.normEps,
    },
  };
  const tensors = bitnetTensorShapes(config).map((t) => ({
    name: t.name,
    shape: t.shape,
    type: t.role === "norm" ? GgmlType.F32 : GgmlType.F16,
  }));
  return encodeGgufHeader(metadata, tensors);
}

/** A GGUF holding one F32 tensor of `floats` values (a later shard of a split set). */
export function tensorFile(floats: number, seed: number): Uint8Array<ArrayBuffer> {
  return withNoise(
    encodeGgufHeader({}, [{ name: `t${seed}`, type: GgmlType.F32, shape: [floats] }]),
    seed,
  );
}

function withNoise(header: EncodedHeader, seed: number): Uint8Array<ArrayBuffer> {
  const file = new Uint8Array(header.fileSize);
  file.set(header.bytes);
  noise(file, header.bytes.length, seed);
  return file;
}

export function sha(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
