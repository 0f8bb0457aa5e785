import { openAsBlob } from "node:fs";
import { ConversationTokens } from "../../src/engine/generate/conversation.ts";
import { chatPromptTokens, generate, ModelSession } from "../../src/engine/generate/index.ts";
import { readGgufHeader } from "../../src/engine/gguf/index.ts";
import { KernelModel, loadKernelWeights } from "../../src/engine/kernels/index.ts";
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
  // Enough positions for a short chat; the tiny and demo models allow 512.
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
  let newSession: () => ModelSession;
  let dispose = () => {};
  if (engine === "reference") {
    const weights = await loadBitNetWeights(blob, { header });
    newSession = () => new ModelSession(new ReferenceModel(weights, 512));
  } else {
    const model = await KernelModel.create(await loadKernelWeights(blob, { header }), {
      threads: 1,
      maxPositions: 512,
    });
    newSession = () => {
      const session = new ModelSession(model);
      session.reset();
      return session;
    };
    dispose = () => model.dispose();
  }
  const conversation = new ConversationTokens(
    tokenizer,
    header.metadata["tokenizer.chat_template"],
  );
  const messages = [...history];
  const replies: string[] = [];
  try {
    for (const text of userTurns) {
      messages.push({ role: "user", content: text });
      const prompt = conversation.promptFor(messages);
      const result = await generate({
        session: newSession(),
        tokenizer,
        sampler: createSampler(settings),
        promptTokens: prompt.tokens,
        maxTokens: settings.maxTokens,
      });
      conversation.record(prompt, result.tokens, result.text);
      messages.push({ role: "assistant", content: result.text });
      replies.push(result.text);
    }
  } finally {
    dispose();
  }
  return replies;
}
