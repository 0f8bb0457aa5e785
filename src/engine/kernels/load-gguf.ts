/**
 * GGUF → KernelWeights without the codes detour: I2_S tensors copy straight into the
 * kernel layout, TQ2_0 tensors repack block by block, and an F16 token_embd stays as its
 * half bits (the exact f16 head). Other ternary encodings (TQ1_0, float) go through the
 * GGUF reader's readTernary.
 */
import {
  dequantize,
  elementCount,
  GgmlType,
  GgufError,
  type GgufHeader,
  type GgufTensorInfo,
  halfToFloat,
  readBitNetConfig,
  readGgufHeader,
  readTensorBytes,
  readTernary,
  validateBitNetTensors,
} from "../gguf/index.ts";
import type { KernelWeights, TernarySource } from "./model.ts";
import { packI2S, packTernaryCodes, packTQ2 } from "./pack.ts";

export interface LoadKernelWeightsOptions {
  onProgress?: (fraction: number) => void;
  header?: GgufHeader;
}

export async function loadKernelWeights(
  blob: Blob,
  options: LoadKernelWeightsOptions = {},
): Promise<KernelWeights> {
  const header = options.header ?? (await readGgufHeader(blob));
  const config = readBitNetConfig(header);
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
  const readLinear = async (base: string, rows: number, cols: number): Promise<TernarySource> => {
    const info = tensor(`${base}.weight`);
    if (info.shape[0] !== cols || (info.shape[1] ?? 1) !== rows) {
      throw new GgufError(
        `Tensor "${base}.weight" has shape [${info.shape.join(", ")}]; the config needs [${cols}, ${rows}].`,
      );
    }
    const scaleInfo = byName.get(`${base}.scale`);
    if (scaleInfo && elementCount(scaleInfo.shape) !== 1) {
      throw new GgufError(`Tensor "${base}.scale" should hold one value.`);
    }
    // Read when the model asks, one tensor at a time, straight into wasm memory.
    const load = async (dst: Uint8Array): Promise<number> => {
      const bytes = await readTensorBytes(blob, header, info);
      const extra = scaleInfo
        ? dequantize(scaleInfo.type, await readTensorBytes(blob, header, scaleInfo), 1)[0]
        : 1;
      let scale: number;
      if (info.type === GgmlType.I2_S && cols % 128 === 0) {
        scale = new DataView(bytes.buffer, bytes.byteOffset + (rows * cols) / 4, 4).getFloat32(
          0,
          true,
        );
        packI2S(dst, bytes, rows, cols);
      } else if (info.type === GgmlType.TQ2_0 && cols % 256 === 0) {
        // the scale: the first nonzero block scale (packTQ2 checks that all agree)
        scale = 0;
        for (let b = 0; b < bytes.length / 66 && scale === 0; b++) {
          scale = halfToFloat(bytes[b * 66 + 64] | (bytes[b * 66 + 65] << 8));
        }
        packTQ2(dst, bytes, rows, cols);
      } else {
        const t = readTernary(info.type, bytes, rows * cols);
        scale = t.scale;
        packTernaryCodes(dst, t.codes, rows, cols);
      }
      progress();
      return scale * extra;
    };
    return { rows, cols, load };
  };

  const { hidden, ffn, vocab } = config;
  const q = config.heads * config.headDim;
  const kv = config.kvHeads * config.headDim;
  const embInfo = tensor("token_embd.weight");
  let tokenEmbedding: KernelWeights["tokenEmbedding"];
  if (embInfo.type === GgmlType.F16 && elementCount(embInfo.shape) === vocab * hidden) {
    // The published file's f16 embedding is also the exact head: read it a block of rows
    // at a time into wasm memory, never whole into JS.
    const start = header.dataOffset + embInfo.offset;
    tokenEmbedding = {
      length: vocab * hidden,
      async readRows(first, count) {
        const from = start + first * hidden * 2;
        const bytes = await blob.slice(from, from + count * hidden * 2).arrayBuffer();
        if (bytes.byteLength !== count * hidden * 2) {
          throw new GgufError("The file ends inside token_embd.weight.");
        }
        if (first + count >= vocab) progress();
        return new Uint16Array(bytes);
      },
    };
  } else {
    tokenEmbedding = await readFloats("token_embd.weight", vocab * hidden);
  }
  const layers: KernelWeights["layers"] = [];
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
