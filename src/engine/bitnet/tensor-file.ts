/**
 * The tensors of a BitNet GGUF, checked against its config: what both weight loaders
 * (the reference's load-weights.ts and the kernels' gguf-weights.ts) read, and the one place
 * that walks the layers in file order.
 */
import {
  dequantize,
  elementCount,
  GgufError,
  type GgufHeader,
  type GgufTensorInfo,
  readGgufHeader,
  readTensorBytes,
} from "../gguf/index.ts";
import type { BitNetConfig } from "./config.ts";
import { readBitNetConfig, validateBitNetTensors } from "./config.ts";

export interface TensorFileOptions {
  /** Fraction of tensors read so far, 0..1. */
  onProgress?: (fraction: number) => void;
  /** The header, if the caller already parsed it. */
  header?: GgufHeader;
}

export class BitNetTensorFile {
  private done = 0;
  private readonly total: number;

  private constructor(
    readonly blob: Blob,
    readonly header: GgufHeader,
    readonly config: BitNetConfig,
    private readonly byName: Map<string, GgufTensorInfo>,
    private readonly onProgress?: (fraction: number) => void,
  ) {
    this.total = 2 + config.layers * 11;
  }

  static async open(blob: Blob, options: TensorFileOptions = {}): Promise<BitNetTensorFile> {
    const header = options.header ?? (await readGgufHeader(blob));
    const config = readBitNetConfig(header);
    validateBitNetTensors(header, config);
    const byName = new Map(header.tensors.map((t) => [t.name, t]));
    if (byName.has("output.weight")) {
      throw new GgufError(
        "This file has an untied output head (output.weight); BitNet ties the head to token_embd and Trit reads only that.",
      );
    }
    return new BitNetTensorFile(blob, header, config, byName, options.onProgress);
  }

  /** Counts one more tensor read, for the progress callback. */
  tensorDone(): void {
    this.onProgress?.(++this.done / this.total);
  }

  tensor(name: string): GgufTensorInfo {
    const info = this.byName.get(name);
    if (!info) throw new GgufError(`The file has no tensor "${name}".`);
    return info;
  }

  bytes(info: GgufTensorInfo): Promise<Uint8Array> {
    return readTensorBytes(this.blob, this.header, info);
  }

  /** A float tensor (norm weights, embedding), checked to hold `count` values. */
  async readFloats(name: string, count: number): Promise<Float32Array> {
    const info = this.tensor(name);
    if (elementCount(info.shape) !== count) {
      throw new GgufError(
        `Tensor "${name}" has ${elementCount(info.shape)} values; the config needs ${count}.`,
      );
    }
    const values = dequantize(info.type, await this.bytes(info), count);
    this.tensorDone();
    return values;
  }

  /**
   * A ternary linear stored as ggml [cols, rows], shape checked; `extraScale` reads
   * llama.cpp's optional `<base>.scale` tensor (shape {1}), which multiplies the output
   * and so folds into the weight scale (1 when absent).
   */
  linear(
    base: string,
    rows: number,
    cols: number,
  ): { info: GgufTensorInfo; extraScale: () => Promise<number> } {
    const name = `${base}.weight`;
    const info = this.tensor(name);
    if (info.shape[0] !== cols || (info.shape[1] ?? 1) !== rows) {
      throw new GgufError(
        `Tensor "${name}" has shape [${info.shape.join(", ")}]; the config needs [${cols}, ${rows}].`,
      );
    }
    const scaleInfo = this.byName.get(`${base}.scale`);
    if (scaleInfo && elementCount(scaleInfo.shape) !== 1) {
      throw new GgufError(`Tensor "${base}.scale" should hold one value.`);
    }
    const extraScale = async () =>
      scaleInfo ? dequantize(scaleInfo.type, await this.bytes(scaleInfo), 1)[0] : 1;
    return { info, extraScale };
  }

  /** Walks the model in file order: embedding, then each layer's tensors, then the final norm. */
  async assemble<Linear, Embedding, Floats = Float32Array>(read: {
    embedding: () => Promise<Embedding>;
    linear: (base: string, rows: number, cols: number) => Promise<Linear>;
    /** A norm's weights; default read now (readFloats). */
    floats?: (name: string, count: number) => Promise<Floats>;
  }) {
    const c = this.config;
    const floats =
      read.floats ??
      ((name: string, count: number) => this.readFloats(name, count) as Promise<Floats>);
    const q = c.heads * c.headDim;
    const kv = c.kvHeads * c.headDim;
    const tokenEmbedding = await read.embedding();
    const layers = [];
    for (let l = 0; l < c.layers; l++) {
      const p = `blk.${l}`;
      layers.push({
        attnNorm: await floats(`${p}.attn_norm.weight`, c.hidden),
        wq: await read.linear(`${p}.attn_q`, q, c.hidden),
        wk: await read.linear(`${p}.attn_k`, kv, c.hidden),
        wv: await read.linear(`${p}.attn_v`, kv, c.hidden),
        attnSubNorm: await floats(`${p}.attn_sub_norm.weight`, q),
        wo: await read.linear(`${p}.attn_output`, c.hidden, q),
        ffnNorm: await floats(`${p}.ffn_norm.weight`, c.hidden),
        wGate: await read.linear(`${p}.ffn_gate`, c.ffn, c.hidden),
        wUp: await read.linear(`${p}.ffn_up`, c.ffn, c.hidden),
        ffnSubNorm: await floats(`${p}.ffn_sub_norm.weight`, c.ffn),
        wDown: await read.linear(`${p}.ffn_down`, c.hidden, c.ffn),
      });
    }
    const outputNorm = await floats("output_norm.weight", c.hidden);
    return { config: c, tokenEmbedding, layers, outputNorm };
  }
}
