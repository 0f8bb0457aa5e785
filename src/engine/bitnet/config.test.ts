import { describe, expect, it } from "vitest";
import { GgmlType, type GgufHeader, type GgufValue, tensorByteLength } from "../gguf/index.ts";
import { bitnetTensorShapes, readBitNetConfig, validateBitNetTensors } from "./config.ts";

/** A header as the published 2B4T file has it (numbers from its config.json). */
function header(arch: string, extra: Record<string, GgufValue> = {}): GgufHeader {
  const metadata: Record<string, GgufValue> = {
    "general.architecture": arch,
    [`${arch}.block_count`]: 30,
    [`${arch}.embedding_length`]: 2560,
    [`${arch}.feed_forward_length`]: 6912,
    [`${arch}.attention.head_count`]: 20,
    [`${arch}.attention.head_count_kv`]: 5,
    [`${arch}.rope.freq_base`]: 500000,
    [`${arch}.attention.layer_norm_rms_epsilon`]: 1e-5,
    [`${arch}.context_length`]: 4096,
    [`${arch}.vocab_size`]: 128256,
    ...extra,
  };
  return { version: 3, metadata, metadataTypes: {}, tensors: [], alignment: 32, dataOffset: 0 };
}

const TWO_B_FOUR_T = {
  layers: 30,
  hidden: 2560,
  ffn: 6912,
  heads: 20,
  kvHeads: 5,
  headDim: 128,
  vocab: 128256,
  contextLength: 4096,
  ropeTheta: 500000,
  normEps: 1e-5,
};

describe("readBitNetConfig", () => {
  it("reads the published file's architecture with relu²", () => {
    expect(readBitNetConfig(header("bitnet-b1.58"))).toEqual({
      architecture: "bitnet-b1.58",
      ...TWO_B_FOUR_T,
      activation: "relu2",
    });
    expect(readBitNetConfig(header("bitnet-25")).activation).toBe("relu2");
  });

  it("reads llama.cpp's `bitnet` with the SiLU its graph uses", () => {
    expect(readBitNetConfig(header("bitnet"))).toEqual({
      architecture: "bitnet",
      ...TWO_B_FOUR_T,
      activation: "silu",
    });
  });

  it("defaults KV heads to heads and takes the vocab from the token list", () => {
    const h = header("bitnet", { "tokenizer.ggml.tokens": ["a", "b", "c"] });
    delete h.metadata["bitnet.attention.head_count_kv"];
    delete h.metadata["bitnet.vocab_size"];
    const c = readBitNetConfig(h);
    expect(c.kvHeads).toBe(20);
    expect(c.vocab).toBe(3);
  });

  it("fails in words for other architectures and bad keys", () => {
    expect(() => readBitNetConfig(header("llama"))).toThrow(/"llama" is not a BitNet model/);
    const noArch = header("bitnet");
    delete noArch.metadata["general.architecture"];
    expect(() => readBitNetConfig(noArch)).toThrow(/general.architecture is missing/);
    const missing = header("bitnet");
    delete missing.metadata["bitnet.block_count"];
    expect(() => readBitNetConfig(missing)).toThrow(/bitnet.block_count is missing/);
    expect(() => readBitNetConfig(header("bitnet", { "bitnet.attention.head_count": 7 }))).toThrow(
      /2560 is not divisible by the 7 attention heads/,
    );
    expect(() =>
      readBitNetConfig(header("bitnet", { "bitnet.attention.head_count_kv": 3 })),
    ).toThrow(/20 attention heads cannot share 3 KV heads/);
    expect(() => readBitNetConfig(header("bitnet", { "bitnet.block_count": "30" }))).toThrow(
      /not a positive integer/,
    );
    expect(() => readBitNetConfig(header("bitnet", { "bitnet.rope.dimension_count": 64 }))).toThrow(
      /only full-head RoPE/,
    );
  });
});

describe("validateBitNetTensors", () => {
  const config = readBitNetConfig(header("bitnet-b1.58"));
  const expected = bitnetTensorShapes(config);

  function withTensors(
    edit: (t: { name: string; type: GgmlType; shape: number[] }[]) => void,
  ): GgufHeader {
    const list = expected.map((e) => ({
      name: e.name,
      shape: [...e.shape],
      type:
        e.role === "ternary" ? GgmlType.I2_S : e.role === "embedding" ? GgmlType.F16 : GgmlType.F32,
    }));
    edit(list);
    const h = header("bitnet-b1.58");
    let offset = 0;
    h.tensors = list.map((t) => {
      const byteLength = tensorByteLength(t.type, t.shape);
      const info = { ...t, offset, byteLength };
      offset += Math.ceil(byteLength / 32) * 32;
      return info;
    });
    return h;
  }

  it("the 2B4T layout has 332 tensors and passes", () => {
    expect(expected).toHaveLength(332);
    expect(expected.find((e) => e.name === "blk.29.attn_k.weight")?.shape).toEqual([2560, 640]);
    expect(expected.find((e) => e.name === "blk.0.ffn_down.weight")?.shape).toEqual([6912, 2560]);
    expect(expected.find((e) => e.name === "blk.0.ffn_sub_norm.weight")?.shape).toEqual([6912]);
    expect(() =>
      validateBitNetTensors(
        withTensors(() => {}),
        config,
      ),
    ).not.toThrow();
  });

  it("allows llama.cpp's optional one-value scale tensors", () => {
    const h = withTensors((l) =>
      l.push({ name: "blk.3.attn_q.scale", type: GgmlType.F32, shape: [1] }),
    );
    expect(() => validateBitNetTensors(h, config)).not.toThrow();
  });

  it("names the missing tensor, the wrong shape, the wrong type and the stranger", () => {
    expect(() =>
      validateBitNetTensors(
        withTensors((l) => l.splice(4, 1)), // 0 embd, 1 output_norm, 2 attn_norm, 3 q, 4 k
        config,
      ),
    ).toThrow(/tensor "blk.0.attn_k.weight" is missing/);
    expect(() =>
      validateBitNetTensors(
        withTensors((l) => {
          l[3].shape = [2560, 2048];
        }),
        config,
      ),
    ).toThrow(/"blk.0.attn_q.weight" has shape \[2560, 2048\] but the config needs \[2560, 2560\]/);
    expect(() =>
      validateBitNetTensors(
        withTensors((l) => {
          l[1].type = GgmlType.TQ2_0;
          l[1].shape = [2560];
        }),
        config,
      ),
    ).toThrow(GgmlType[GgmlType.TQ2_0]);
    expect(() =>
      validateBitNetTensors(
        withTensors((l) =>
          l.push({ name: "output.weight", type: GgmlType.F16, shape: [2560, 128256] }),
        ),
        config,
      ),
    ).toThrow(/unexpected tensor "output.weight"/);
  });
});
