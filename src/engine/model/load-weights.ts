/**
 * GGUF → BitNetWeights for the reference forward pass: every ternary linear as codes
 * {-1, 0, 1} × one scale, norms and the embedding as f32. Reads each tensor through the
 * GGUF reader, whatever type it is stored in (I2_S, TQ1_0, TQ2_0, F16, BF16, F32).
 */

import {
  dequantize,
  elementCount,
  GgufError,
  type GgufHeader,
  type GgufTensorInfo,
  readBitNetConfig,
  readGgufHeader,
  readTensorBytes,
  readTernary,
  validateBitNetTensors,
} from "../gguf/index.ts";
import type { BitNetConfig } from "./config.ts";
import type { BitNetWeights, LayerWeights, TernaryMatrix } from "./weights.ts";

export interface LoadWeightsOptions {
  /** Fraction of tensors read so far, 0..1. */
  onProgress?: (fraction: number) => void;
  /** The header, if the caller already parsed it. */
  header?: GgufHeader;
}

export async function loadBitNetWeights(
  blob: Blob,
  options: LoadWeightsOptions = {},
): Promise<BitNetWeights> {
  const header = options.header ?? (await readGgufHeader(blob));
  const config: BitNetConfig = readBitNetConfig(header);
  validateBitNetTensors(header, config);

  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  if (byName.has("output.weight")) {
    throw new GgufError(
      "This file has an untied output head (output.weight); BitNet ties the head to token_embd and Trit reads only that.",
    );
  }
  const total = 2 + config.layers * 11;
  let done = 0;
  const progress = () => options.onProgress?.(++done / total);

  const tensor = (name: string): GgufTensorInfo => {
    const info = byName.get(name);
    if (!info) throw new GgufError(`The file has no tensor "${name}".`);
    return info;
  };

  /** A float tensor (norm weights, embedding), checked to hold `count` values. */
  const readFloats = async (name: string, count: number): Promise<Float32Array> => {
    const info = tensor(name);
    if (elementCount(info.shape) !== count) {
      throw new GgufError(
        `Tensor "${name}" has ${elementCount(info.shape)} values; the config needs ${count}.`,
      );
    }
    const values = dequantize(info.type, await readTensorBytes(blob, header, info), count);
    progress();
    return values;
  };

  /**
   * A ternary linear stored as ggml [cols, rows]; llama.cpp's optional `<name>.scale`
   * tensor (shape {1}) multiplies the output, so it folds into the weight scale.
   */
  const readLinear = async (base: string, rows: number, cols: number): Promise<TernaryMatrix> => {
    const name = `${base}.weight`;
    const info = tensor(name);
    if (info.shape[0] !== cols || (info.shape[1] ?? 1) !== rows) {
      throw new GgufError(
        `Tensor "${name}" has shape [${info.shape.join(", ")}]; the config needs [${cols}, ${rows}].`,
      );
    }
    const { codes, scale } = readTernary(
      info.type,
      await readTensorBytes(blob, header, info),
      rows * cols,
    );
    let extra = 1;
    const scaleInfo = byName.get(`${base}.scale`);
    if (scaleInfo) {
      if (elementCount(scaleInfo.shape) !== 1) {
        throw new GgufError(`Tensor "${base}.scale" should hold one value.`);
      }
      extra = dequantize(scaleInfo.type, await readTensorBytes(blob, header, scaleInfo), 1)[0];
    }
    progress();
    return { rows, cols, codes, scale: scale * extra };
  };

  const { hidden, ffn, vocab } = config;
  const q = config.heads * config.headDim;
  const kv = config.kvHeads * config.headDim;
  const tokenEmbedding = await readFloats("token_embd.weight", vocab * hidden);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.layers; l++) {
    const p = `blk.${l}`;
    layers.push({
      attnNorm: await readFloats(`${p}.attn_norm.weight`, hidden),
      wq: await readLinear(`${p}.attn_q`, q, hidden),
      wk: await readLinear(`${p}.attn_k`, kv, hidden),
      wv: await readLinear(`${p}.attn_v`, kv, hidden),
      attnSubNorm: await readFloats(`${p}.attn_sub_norm.weight`, q),
      wo: await readLinear(`${p}.attn_output`, hidden, q),
      ffnNorm: await readFloats(`${p}.ffn_norm.weight`, hidden),
      wGate: await readLinear(`${p}.ffn_gate`, ffn, hidden),
      wUp: await readLinear(`${p}.ffn_up`, ffn, hidden),
      ffnSubNorm: await readFloats(`${p}.ffn_sub_norm.weight`, ffn),
      wDown: await readLinear(`${p}.ffn_down`, hidden, ffn),
    });
  }
  const outputNorm = await readFloats("output_norm.weight", hidden);
  return { config, tokenEmbedding, layers, outputNorm };
}
