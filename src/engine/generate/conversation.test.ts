import { describe, expect, it } from "vitest";
import { llama3TokenizerMetadata } from "../../../test-support/llama3-tokenizer-metadata.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { ConversationTokens } from "./conversation.ts";
import { chatPromptTokens } from "./prompt.ts";

const tokenizer = Tokenizer.fromGgufMetadata({
  ...llama3TokenizerMetadata(),
  "tokenizer.ggml.add_bos_token": true,
});

function commonPrefix(a: number[], b: number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

describe("ConversationTokens", () => {
  const first = [{ role: "user" as const, content: "Hi" }];
  // What a model generates after "Assistant: ": words without the leading space.
  const replyText = "Hello there";
  const replyTokens = tokenizer.encode(replyText);
  const followUp = [
    ...first,
    { role: "assistant" as const, content: replyText },
    { role: "user" as const, content: "Tell me more" },
  ];

  it("encodes a first turn exactly as chatPromptTokens does", () => {
    const conversation = new ConversationTokens(tokenizer);
    expect(conversation.promptFor(first).tokens).toEqual(chatPromptTokens(tokenizer, first));
  });

  it("extends the last turn's prompt and reply tokens, spelling the same text", () => {
    const conversation = new ConversationTokens(tokenizer);
    const prompt = conversation.promptFor(first);
    conversation.record(prompt, replyTokens, replyText);
    const next = conversation.promptFor(followUp);
    const seen = [...prompt.tokens, ...replyTokens];
    expect(next.tokens.slice(0, seen.length)).toEqual(seen);
    // The same text as a fresh encoding (BOS included), only split differently at the seam.
    expect(tokenizer.decode(next.tokens)).toBe(
      tokenizer.decode(chatPromptTokens(tokenizer, followUp)),
    );
    expect(tokenizer.decode(next.tokens).endsWith(next.text)).toBe(true);
    // Why: a fresh encoding merges the seam, so a cache keyed on it would lose the reply.
    expect(commonPrefix(chatPromptTokens(tokenizer, followUp), seen)).toBeLessThan(seen.length);
  });

  it("encodes afresh when the history was edited", () => {
    const conversation = new ConversationTokens(tokenizer);
    const prompt = conversation.promptFor(first);
    conversation.record(prompt, replyTokens, replyText);
    const edited = [{ role: "user" as const, content: "Hey, something else" }];
    expect(conversation.promptFor(edited).tokens).toEqual(chatPromptTokens(tokenizer, edited));
  });
});
