import { openAsBlob } from "node:fs";
import { chatPromptTokens, generate, ModelSession } from "../../src/engine/generate/index.ts";
import { readGgufHeader } from "../../src/engine/gguf/index.ts";
import { ReferenceModel } from "../../src/engine/model/forward.ts";
import { loadBitNetWeights } from "../../src/engine/model/load-weights.ts";
import { createSampler } from "../../src/engine/sampling/sampler.ts";
import { Tokenizer } from "../../src/engine/tokenizer/index.ts";
import type { ChatMessage, SamplingSettings } from "../../src/worker/api.ts";

/**
 * The reply the scalar reference engine (plain TypeScript, in Node) writes for `messages`
 * with `settings`: the independent truth the browser's wasm engine is checked against.
 */
export async function referenceReply(
  modelPath: string,
  messages: ChatMessage[],
  settings: SamplingSettings,
): Promise<{ text: string; tokens: number[] }> {
  const blob = await openAsBlob(modelPath);
  const header = await readGgufHeader(blob);
  const tokenizer = Tokenizer.fromGgufMetadata(header.metadata);
  const weights = await loadBitNetWeights(blob, { header });
  // Enough positions for a short chat; the tiny model allows 512.
  const session = new ModelSession(new ReferenceModel(weights, 512));
  const result = await generate({
    session,
    tokenizer,
    sampler: createSampler(settings),
    promptTokens: chatPromptTokens(tokenizer, messages, header.metadata["tokenizer.chat_template"]),
    maxTokens: settings.maxTokens,
  });
  return { text: result.text, tokens: result.tokens };
}
