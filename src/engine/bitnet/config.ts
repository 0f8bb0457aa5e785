/**
 * What a BitNet model is: its hyper-parameters, read once from a GGUF header, and the
 * tensor set a BitNet file must hold. The GGUF reader (../gguf/) knows nothing of BitNet.
 */
import {
  GgmlType,
  GgufError,
  type GgufHeader,
  type GgufValue,
  ggmlTypeName,
} from "../gguf/index.ts";

/** The FFN gate activation: relu² for BitNet b1.58 2B4T, SiLU for llama.cpp's plain `bitnet`. */
export type FfnActivation = "relu2" | "silu";

/** Architecture hyper-parameters of a BitNet model, read once from the GGUF metadata. */
export interface BitNetConfig {
  /** `general.architecture` as the file states it (e.g. `bitnet-b1.58`, `bitnet`). */
  architecture: string;
  layers: number;
  hidden: number;
  ffn: number;
  heads: number;
  kvHeads: number;
  /** hidden / heads. */
  headDim: number;
  vocab: number;
  contextLength: number;
  ropeTheta: number;
  normEps: number;
  activation: FfnActivation;
}

/**
 * Architecture names we read, and the FFN activation each one's reference graph uses:
 * the published 2B4T file (`bitnet-b1.58`, early uploads `bitnet-25`) uses relu²;
 * llama.cpp's `bitnet` graph (src/models/bitnet.cpp) hard-codes LLM_FFN_SILU, so a file
 * named `bitnet` runs with SiLU there, and here too.
 */
export const BITNET_ARCHITECTURES: Readonly<Record<string, FfnActivation>> = {
  "bitnet-b1.58": "relu2",
  "bitnet-25": "relu2",
  bitnet: "silu",
};

function asNumber(v: GgufValue | undefined): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint" && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= 0n) return Number(v);
  return undefined;
}

/** Reads the hyper-parameters; throws GgufError naming the missing or impossible key. */
export function readBitNetConfig(header: GgufHeader): BitNetConfig {
  const md = header.metadata;
  const architecture = md["general.architecture"];
  if (typeof architecture !== "string") {
    throw new GgufError("general.architecture is missing: cannot tell what model this is");
  }
  if (!Object.hasOwn(BITNET_ARCHITECTURES, architecture)) {
    throw new GgufError(
      `architecture "${architecture}" is not a BitNet model (expected one of: ${Object.keys(BITNET_ARCHITECTURES).join(", ")})`,
    );
  }
  const key = (suffix: string) => `${architecture}.${suffix}`;
  const integer = (suffix: string, fallback?: number): number => {
    const raw = md[key(suffix)];
    if (raw === undefined && fallback !== undefined) return fallback;
    if (raw === undefined) throw new GgufError(`metadata key ${key(suffix)} is missing`);
    const v = asNumber(raw);
    if (v === undefined || !Number.isInteger(v) || v < 1) {
      throw new GgufError(`metadata key ${key(suffix)} is ${String(raw)}, not a positive integer`);
    }
    return v;
  };
  const real = (suffix: string, fallback?: number): number => {
    const raw = md[key(suffix)];
    if (raw === undefined && fallback !== undefined) return fallback;
    if (raw === undefined) throw new GgufError(`metadata key ${key(suffix)} is missing`);
    const v = asNumber(raw);
    if (v === undefined || !(v > 0) || !Number.isFinite(v)) {
      throw new GgufError(`metadata key ${key(suffix)} is ${String(raw)}, not a positive number`);
    }
    return v;
  };

  const layers = integer("block_count");
  const hidden = integer("embedding_length");
  const ffn = integer("feed_forward_length");
  const heads = integer("attention.head_count");
  const kvHeads = integer("attention.head_count_kv", heads);
  const contextLength = integer("context_length");
  // llama.cpp's default when a file omits the RoPE base.
  const ropeTheta = real("rope.freq_base", 10000);
  const normEps = real("attention.layer_norm_rms_epsilon");

  if (hidden % heads !== 0) {
    throw new GgufError(`hidden size ${hidden} is not divisible by the ${heads} attention heads`);
  }
  if (heads % kvHeads !== 0) {
    throw new GgufError(`${heads} attention heads cannot share ${kvHeads} KV heads evenly`);
  }
  const headDim = hidden / heads;
  if (headDim % 2 !== 0) throw new GgufError(`head dimension ${headDim} is odd; RoPE needs pairs`);
  const ropeDims = md[key("rope.dimension_count")];
  if (ropeDims !== undefined && asNumber(ropeDims) !== headDim) {
    throw new GgufError(
      `${key("rope.dimension_count")} is ${String(ropeDims)}; only full-head RoPE (${headDim}) is supported`,
    );
  }

  const tokens = md["tokenizer.ggml.tokens"];
  const embedding = header.tensors.find((t) => t.name === "token_embd.weight");
  const vocabFallback = Array.isArray(tokens) ? tokens.length : embedding?.shape[1];
  if (md[key("vocab_size")] === undefined && vocabFallback === undefined) {
    throw new GgufError(
      `cannot tell the vocabulary size: no ${key("vocab_size")}, no tokenizer.ggml.tokens, no token_embd.weight`,
    );
  }
  const vocab = integer("vocab_size", vocabFallback);

  return {
    architecture,
    layers,
    hidden,
    ffn,
    heads,
    kvHeads,
    headDim,
    vocab,
    contextLength,
    ropeTheta,
    normEps,
    activation: BITNET_ARCHITECTURES[architecture],
  };
}

export type BitNetTensorRole = "embedding" | "norm" | "ternary" | "scale";

export interface ExpectedTensor {
  name: string;
  /** ggml order: [columns, rows]. */
  shape: number[];
  role: BitNetTensorRole;
}

/** The 2 + 11 × layers tensors a BitNet file holds, with their ggml shapes. */
export function bitnetTensorShapes(config: BitNetConfig): ExpectedTensor[] {
  const { hidden, ffn, vocab } = config;
  const kv = config.kvHeads * config.headDim;
  const out: ExpectedTensor[] = [
    { name: "token_embd.weight", shape: [hidden, vocab], role: "embedding" },
    { name: "output_norm.weight", shape: [hidden], role: "norm" },
  ];
  for (let i = 0; i < config.layers; i++) {
    const blk = (s: string) => `blk.${i}.${s}.weight`;
    out.push(
      { name: blk("attn_norm"), shape: [hidden], role: "norm" },
      { name: blk("attn_q"), shape: [hidden, hidden], role: "ternary" },
      { name: blk("attn_k"), shape: [hidden, kv], role: "ternary" },
      { name: blk("attn_v"), shape: [hidden, kv], role: "ternary" },
      { name: blk("attn_output"), shape: [hidden, hidden], role: "ternary" },
      { name: blk("attn_sub_norm"), shape: [hidden], role: "norm" },
      { name: blk("ffn_norm"), shape: [hidden], role: "norm" },
      { name: blk("ffn_gate"), shape: [hidden, ffn], role: "ternary" },
      { name: blk("ffn_up"), shape: [hidden, ffn], role: "ternary" },
      { name: blk("ffn_down"), shape: [ffn, hidden], role: "ternary" },
      { name: blk("ffn_sub_norm"), shape: [ffn], role: "norm" },
    );
  }
  return out;
}

const FLOAT_TYPES = new Set<GgmlType>([GgmlType.F32, GgmlType.F16, GgmlType.BF16]);
const ALLOWED_TYPES: Record<BitNetTensorRole, Set<GgmlType>> = {
  embedding: FLOAT_TYPES,
  norm: FLOAT_TYPES,
  ternary: new Set([...FLOAT_TYPES, GgmlType.I2_S, GgmlType.TQ1_0, GgmlType.TQ2_0]),
  scale: new Set([GgmlType.F32]),
};

/**
 * Checks that the header holds exactly the BitNet tensor set for this config: every
 * tensor present, with the right shape and a type we can use. Optional per-linear
 * `blk.N.<linear>.scale` tensors (llama.cpp's `bitnet`, shape [1], F32) are allowed.
 * Throws GgufError naming the first problem.
 */
export function validateBitNetTensors(header: GgufHeader, config: BitNetConfig): void {
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const expected = bitnetTensorShapes(config);
  const known = new Set(expected.map((e) => e.name));
  for (const e of expected) {
    const t = byName.get(e.name);
    if (!t) throw new GgufError(`tensor "${e.name}" is missing`);
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      throw new GgufError(
        `tensor "${e.name}" has shape [${t.shape.join(", ")}] but the config needs [${e.shape.join(", ")}]`,
      );
    }
    if (!ALLOWED_TYPES[e.role].has(t.type)) {
      throw new GgufError(
        `tensor "${e.name}" has type ${ggmlTypeName(t.type)}, not usable for a ${e.role} tensor`,
      );
    }
  }
  for (const t of header.tensors) {
    if (known.has(t.name)) continue;
    const scaleOf =
      /^blk\.(\d+)\.(attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down)\.scale$/.exec(
        t.name,
      );
    if (scaleOf && Number(scaleOf[1]) < config.layers) {
      if (t.shape.length !== 1 || t.shape[0] !== 1 || t.type !== GgmlType.F32) {
        throw new GgufError(
          `tensor "${t.name}" must be one F32 value, is ${ggmlTypeName(t.type)} [${t.shape.join(", ")}]`,
        );
      }
      continue;
    }
    throw new GgufError(`unexpected tensor "${t.name}" in a BitNet file`);
  }
}
