import { describe, expect, it } from "vitest";
import { llama3TokenizerMetadata } from "../../../test-support/llama3-tokenizer-metadata.ts";
import { randomBitNetWeights, smallConfig } from "../../../test-support/random-weights.ts";
import type { ForwardModel } from "../bitnet/forward-model.ts";
import type { ChatMessage } from "../chat/template.ts";
import { ReferenceModel } from "../reference/forward.ts";
import type { SamplingSettings } from "../sampling/sampler.ts";
import { createSampler } from "../sampling/sampler.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { ChatSession } from "./chat-session.ts";
import { contextLimits } from "./context-policy.ts";
import { generate, ModelSession } from "./generate.ts";
import { chatPromptTokens } from "./prompt.ts";

const tokenizer = Tokenizer.fromGgufMetadata({
  ...llama3TokenizerMetadata(),
  "tokenizer.ggml.add_bos_token": true,
});
const CONTEXT = 160;
const weights = randomBitNetWeights(
  smallConfig({ vocab: tokenizer.vocabSize, contextLength: CONTEXT, layers: 2 }),
  3,
);
/**
 * One layer: each position's keys and values depend on its token and position only, so a
 * shifted cache is what a full prefill computes (with more layers a shift keeps the kept
 * tokens' deeper keys as the left-out turns shaped them: llama.cpp's approximation).
 */
const oneLayer = randomBitNetWeights(
  smallConfig({ vocab: tokenizer.vocabSize, contextLength: CONTEXT, layers: 1 }),
  5,
);
const settings: SamplingSettings = {
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  maxTokens: 12,
  seed: 1,
};
const system: ChatMessage = { role: "system", content: "You answer in one short line." };
const questions = [
  "What is the tallest mountain on Earth and where is it?",
  "How long does light take to reach us from the Sun?",
  "Name three rivers in Africa, please.",
  "Which planet has the most moons right now?",
  "What is the boiling point of water on a high mountain?",
  "Why is the sky blue in the afternoon?",
  "How many bones are in the adult human body?",
];

/** Runs the questions as one conversation; returns each turn's result and its messages. */
async function converse(model: ForwardModel, turnSettings = (_turn: number) => settings) {
  const chat = new ChatSession(model, tokenizer);
  const messages: ChatMessage[] = [system];
  const turns = [];
  for (const [turn, question] of questions.entries()) {
    messages.push({ role: "user", content: question });
    const result = await chat.reply(messages, {
      settings: turnSettings(turn),
      conversationId: "c",
    });
    const prompt = chat.session.cachedTokens.slice(0, result.promptTokens);
    turns.push({ result, prompt, messages: messages.slice() });
    messages.push({ role: "assistant", content: result.text });
  }
  return turns;
}

/** A rendering by the 2B4T template (which trims messages) with each reply put back whole. */
function untrimmedReplies(text: string, messages: ChatMessage[]): string {
  let out = "";
  let from = 0;
  for (const m of messages) {
    if (m.role !== "assistant") continue;
    const trimmed = `Assistant: ${m.content.trim()}<|eot_id|>`;
    const at = text.indexOf(trimmed, from);
    expect(at).toBeGreaterThanOrEqual(0);
    out += `${text.slice(from, at)}Assistant: ${m.content}<|eot_id|>`;
    from = at + trimmed.length;
  }
  return out + text.slice(from);
}

/** The reference engine without the optional shift: the session must recompute instead. */
function withoutShift(model: ReferenceModel): ForwardModel {
  return {
    config: model.config,
    maxPositions: model.maxPositions,
    forward: (t, p) => model.forward(t, p),
    reset: () => model.reset(),
  };
}

describe("ChatSession", () => {
  it("lets the oldest turns fall out, keeps the system prompt, and shifts the cache instead of recomputing", async () => {
    const turns = await converse(new ReferenceModel(weights, CONTEXT));
    const { budget } = contextLimits(CONTEXT, settings.maxTokens);
    const dropping = turns.filter((t) => t.result.droppedMessages > 0);
    expect(dropping.length).toBeGreaterThanOrEqual(2); // the chat went past the context, twice
    let droppedBefore = 0;
    for (const { result, prompt, messages } of turns) {
      expect(result.stopReason).not.toBe("context-full");
      expect(result.promptTokens).toBeLessThanOrEqual(budget);
      const dropped = result.droppedMessages;
      expect(dropped % 2).toBe(0); // whole turns: a question and its reply
      // what the model saw spells the system prompt and the kept messages, nothing else
      // (the replies as the model wrote them, which the template would trim)
      const kept = [system, ...messages.slice(1 + dropped)];
      expect(tokenizer.decode(prompt)).toBe(
        untrimmedReplies(tokenizer.decode(chatPromptTokens(tokenizer, kept)), kept),
      );
      // and one turn more would not have fit (the fewest turns were dropped)
      if (dropped > 0) {
        const oneMore = [system, ...messages.slice(1 + dropped - 2)];
        expect(chatPromptTokens(tokenizer, oneMore).length).toBeGreaterThan(budget - 4);
      }
      if (dropped > droppedBefore) {
        // the dropped turns left the cache by a shift; only the new message was computed
        expect(result.shiftedTokens).toBeGreaterThan(0);
        const newMessage = chatPromptTokens(tokenizer, [messages.at(-1) as ChatMessage]).length;
        expect(result.prefilledTokens).toBeLessThanOrEqual(newMessage + 4);
      } else {
        expect(result.shiftedTokens).toBe(0);
      }
      droppedBefore = dropped;
    }
  }, 60_000);

  it("sampled byte soup that does not re-encode to its tokens: every drop shifts, and each reply is a full prefill's", async () => {
    // A random model sampled warm writes replies whose text encodes to other tokens (and
    // that the 2B4T template trims): the prompt must still hold the tokens it generated.
    const sampled = (turn: number) => ({ ...settings, temperature: 1, seed: 100 + turn });
    const turns = await converse(new ReferenceModel(oneLayer, CONTEXT), sampled);
    const reencodesOtherwise = turns.filter(
      ({ result }) => tokenizer.encode(result.text.trim()).join() !== result.tokens.join(),
    );
    expect(reencodesOtherwise.length).toBeGreaterThanOrEqual(2);
    let droppedBefore = 0;
    let drops = 0;
    for (const [turn, { result, messages }] of turns.entries()) {
      // after the first turn only the new message is computed: the cache holds the rest,
      // shifted when turns fell out
      const newMessage = chatPromptTokens(tokenizer, [messages.at(-1) as ChatMessage]).length;
      if (turn > 0) expect(result.prefilledTokens).toBeLessThanOrEqual(newMessage + 4);
      if (result.droppedMessages > droppedBefore) {
        drops++;
        expect(result.shiftedTokens).toBeGreaterThan(0);
      }
      droppedBefore = result.droppedMessages;
    }
    expect(drops).toBeGreaterThanOrEqual(2);
    // Truth: the same prompt tokens prefilled whole on a fresh model give the same reply.
    const fresh = new ModelSession(new ReferenceModel(oneLayer, CONTEXT));
    for (const [turn, { result, prompt }] of turns.entries()) {
      fresh.reset();
      const truth = await generate({
        session: fresh,
        tokenizer,
        sampler: createSampler(sampled(turn)),
        promptTokens: prompt,
        maxTokens: settings.maxTokens,
      });
      expect(truth.prefilledTokens).toBe(prompt.length);
      expect(truth.tokens).toEqual(result.tokens);
    }
  }, 120_000);

  it("without a shift the same turns fall out and the kept ones are computed again", async () => {
    const turns = await converse(withoutShift(new ReferenceModel(weights, CONTEXT)));
    const firstDrop = turns.find((t) => t.result.droppedMessages > 0);
    expect(firstDrop).toBeDefined();
    const { result, prompt } = firstDrop as (typeof turns)[number];
    expect(result.shiftedTokens).toBe(0);
    const systemPrefix = chatPromptTokens(tokenizer, [system]).length - 4;
    expect(result.prefilledTokens).toBeGreaterThan(prompt.length - systemPrefix - 4);
  }, 60_000);

  it("refuses a message longer than the context in words, and the next one still works", async () => {
    const chat = new ChatSession(new ReferenceModel(weights, CONTEXT), tokenizer);
    const long = "word ".repeat(200);
    await expect(
      chat.reply([system, { role: "user", content: long }], { settings }),
    ).rejects.toThrow(/too long for this model/);
    const ok = await chat.reply([system, { role: "user", content: "Hi" }], { settings });
    expect(ok.generatedTokens).toBeGreaterThan(0);
  });
});
