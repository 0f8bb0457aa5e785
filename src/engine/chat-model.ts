import type { BitNetConfig } from "./bitnet/config.ts";
import { readBitNetConfig } from "./bitnet/config.ts";
import { type GgufHeader, readGgufHeader } from "./gguf/index.ts";
import { KernelModel, type KernelModelOptions, loadKernelWeights } from "./kernels/index.ts";
import { Tokenizer } from "./tokenizer/tokenizer.ts";

/** Everything a chat needs from one GGUF: its config, tokenizer, template and fast model. */
export interface ChatModel {
  header: GgufHeader;
  config: BitNetConfig;
  tokenizer: Tokenizer;
  /** The file's `tokenizer.chat_template`, if any (chatPromptTokens picks the fallback). */
  chatTemplate: unknown;
  model: KernelModel;
}

export interface LoadChatModelOptions extends KernelModelOptions {
  /** Fraction of the weights read and repacked so far. */
  onProgress?: (fraction: number) => void;
  /** The file's header, when the caller already parsed it. */
  header?: GgufHeader;
}

/** Reads a BitNet GGUF and builds the wasm engine for it (the worker and the CLI share this). */
export async function loadChatModel(
  blob: Blob,
  options: LoadChatModelOptions = {},
): Promise<ChatModel> {
  const { onProgress, header: parsed, ...modelOptions } = options;
  const header = parsed ?? (await readGgufHeader(blob));
  performance.mark("trit:load header");
  const config = readBitNetConfig(header);
  const tokenizer = Tokenizer.fromGgufMetadata(header.metadata);
  performance.mark("trit:load tokenizer");
  const weights = await loadKernelWeights(blob, { header, onProgress });
  const model = await KernelModel.create(weights, {
    ...modelOptions,
    maxPositions: Math.min(options.maxPositions ?? config.contextLength, config.contextLength),
  });
  return {
    header,
    config,
    tokenizer,
    chatTemplate: header.metadata["tokenizer.chat_template"],
    model,
  };
}

/** Ternary and embedding parameters of a config (what "2B" counts). */
export function parameterCount(c: BitNetConfig): number {
  const kvDim = c.kvHeads * c.headDim;
  const perLayer =
    c.hidden * c.hidden * 2 + c.hidden * kvDim * 2 + c.hidden * c.ffn * 3 + c.hidden * 3 + c.ffn;
  return c.layers * perLayer + c.vocab * c.hidden + c.hidden;
}
