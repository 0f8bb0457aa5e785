import { openAsBlob } from "node:fs";
import type { ForwardModel } from "../../src/engine/bitnet/forward-model.ts";
import { ChatSession, chatPromptTokens } from "../../src/engine/generate/index.ts";
import { readGgufHeader } from "../../src/engine/gguf/index.ts";
import { KernelModel, loadKernelWeights } from "../../src/engine/kernels/index.ts";
import { ReferenceModel } from "../../src/engine/reference/forward.ts";
import { loadBitNetWeights } from "../../src/engine/reference/load-weights.ts";
import { Tokenizer } from "../../src/engine/tokenizer/tokenizer.ts";
import type { ChatMessage, SamplingSettings } from "../../src/worker/api.ts";

/**
 * The reply the scalar reference engine (plain TypeScript, in Node) writes for `messages`
 * with `settings`: the independent truth the browser's wasm engine is checked against.
 */
export async function referenceReply(
  modelPath: string,
  messages: ChatMessage[],
  settings: SamplingSettings,
): Promise<{ text: string; tokens: number[]; droppedMessages: number }> {
  const blob = await openAsBlob(modelPath);
  const header = await readGgufHeader(blob);
  const tokenizer = Tokenizer.fromGgufMetadata(header.metadata);
  const weights = await loadBitNetWeights(blob, { header });
  // The worker's own chat session (context policy, token reuse) on the scalar engine; the
  // KV cache holds what the browser's does (the tiny model allows 512).
  const model = new ReferenceModel(weights, Math.min(512, weights.config.contextLength));
  const chat = new ChatSession(model, tokenizer, header.metadata["tokenizer.chat_template"]);
  const result = await chat.reply(messages, { settings });
  return { text: result.text, tokens: result.tokens, droppedMessages: result.droppedMessages };
}

/**
 * The replies an engine in Node writes for a run of user turns in one engine worker:
 * `history` is what the worker was given as text (system prompt, earlier turns), and each
 * new turn's prompt extends the tokens of the turn before (ConversationTokens, as the
 * worker does: the model's own reply tokens, not a re-encoding of their text). Every turn
 * runs on a fresh session from token 0 (no KV cache kept between turns, one thread), so
 * it checks the browser's cache reuse and threads. `engine` is the scalar reference, or
 * the wasm kernels run in Node (greedy near-ties can part the two on long prompts).
 */
export async function replayTurns(
  modelPath: string,
  history: ChatMessage[],
  userTurns: string[],
  settings: SamplingSettings,
  engine: "reference" | "kernels",
): Promise<string[]> {
  const blob = await openAsBlob(modelPath);
  const header = await readGgufHeader(blob);
  const tokenizer = Tokenizer.fromGgufMetadata(header.metadata);
  let model: ForwardModel;
  let dispose = () => {};
  if (engine === "reference") {
    model = new ReferenceModel(await loadBitNetWeights(blob, { header }), 512);
  } else {
    const kernels = await KernelModel.create(await loadKernelWeights(blob, { header }), {
      threads: 1,
      maxPositions: 512,
    });
    model = kernels;
    dispose = () => kernels.dispose();
  }
  // The worker's chat session, with its KV cache forgotten before each turn.
  const chat = new ChatSession(model, tokenizer, header.metadata["tokenizer.chat_template"]);
  const messages = [...history];
  const replies: string[] = [];
  try {
    for (const text of userTurns) {
      messages.push({ role: "user", content: text });
      chat.forgetCache();
      const result = await chat.reply(messages, { settings });
      messages.push({ role: "assistant", content: result.text });
      replies.push(result.text);
    }
  } finally {
    dispose();
  }
  return replies;
}

/** How many tokens the model's tokenizer makes of `messages` as a fresh chat prompt. */
export async function promptTokenCount(
  modelPath: string,
  messages: ChatMessage[],
): Promise<number> {
  const header = await readGgufHeader(await openAsBlob(modelPath));
  const tokenizer = Tokenizer.fromGgufMetadata(header.metadata);
  return chatPromptTokens(tokenizer, messages, header.metadata["tokenizer.chat_template"]).length;
}
