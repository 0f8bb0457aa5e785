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

  it("when the oldest turn is left out, keeps the later turns' own tokens after the gap", () => {
    const conversation = new ConversationTokens(tokenizer);
    const system = { role: "system" as const, content: "Be brief." };
    const turn1 = [system, ...first];
    const prompt1 = conversation.promptFor(turn1);
    conversation.record(prompt1, replyTokens, replyText);
    const turn2 = [
      ...turn1,
      { role: "assistant" as const, content: replyText },
      { role: "user" as const, content: "Tell me more" },
    ];
    const prompt2 = conversation.promptFor(turn2);
    const reply2 = tokenizer.encode("More words");
    conversation.record(prompt2, reply2, "More words");
    const seen = [...prompt2.tokens, ...reply2];

    // Drop the first turn (its question and reply): system, then turn 2 and a new message.
    const kept = [
      system,
      { role: "user" as const, content: "Tell me more" },
      { role: "assistant" as const, content: "More words" },
      { role: "user" as const, content: "Go on" },
    ];
    const next = conversation.promptFor(kept);
    expect(tokenizer.decode(next.tokens)).toBe(tokenizer.decode(chatPromptTokens(tokenizer, kept)));
    // The tokens are the seen ones with one block (turn 1) cut out, then the new text.
    const head = commonPrefix(next.tokens, seen);
    const matches = (gap: number) =>
      seen.slice(head + gap).join() === next.tokens.slice(head, seen.length - gap).join();
    const gap = seen.findIndex((_, g) => g > 0 && matches(g));
    expect(gap).toBeGreaterThan(0);
    const withoutGap = [...seen.slice(0, head), ...seen.slice(head + gap)];
    expect(tokenizer.decode(withoutGap)).toBe(
      "<|begin_of_text|>System: Be brief.<|eot_id|>User: Tell me more<|eot_id|>Assistant: More words",
    );
    // ...so the second reply keeps the model's own tokens
    expect(next.tokens.slice(withoutGap.length - reply2.length, withoutGap.length)).toEqual(reply2);
    // ...where a fresh encoding of the kept turns would not: the cache could not be shifted.
    const fresh = chatPromptTokens(tokenizer, kept);
    expect(tokenizer.decode(fresh)).toBe(tokenizer.decode(next.tokens));
    expect(commonPrefix(fresh, next.tokens)).toBeLessThan(withoutGap.length);
  });

  it("puts in a reply the template trims (byte soup from a random model) as its own tokens", () => {
    const conversation = new ConversationTokens(tokenizer);
    const prompt = conversation.promptFor(first);
    // A reply with a leading space and a trailing newline: the 2B4T template trims it.
    const soup = " ArgumentNullException leurs\n";
    const soupTokens = tokenizer.encode(soup);
    conversation.record(prompt, soupTokens, soup);
    const next = [...first, { role: "assistant" as const, content: soup }, followUp[2]];
    const tokens = conversation.promptFor(next).tokens;
    const seen = [...prompt.tokens, ...soupTokens];
    expect(tokens.slice(0, seen.length)).toEqual(seen);
    expect(tokenizer.decode(tokens.slice(seen.length))).toBe(
      "<|eot_id|>User: Tell me more<|eot_id|>Assistant: ",
    );
    // A fresh rendering spells the trimmed reply: it parts from the cache inside the reply.
    const fresh = chatPromptTokens(tokenizer, next);
    expect(commonPrefix(fresh, seen)).toBeLessThan(seen.length);
  });

  it("encodes everything when the template rewrites the replies", () => {
    const shouting =
      "{% for message in messages %}{{ message['role'] + ': ' + (message['content'] | upper) + '<|eot_id|>' }}{% endfor %}" +
      "{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}";
    const conversation = new ConversationTokens(tokenizer, shouting);
    const prompt = conversation.promptFor(first);
    expect(prompt.tokens).toEqual(chatPromptTokens(tokenizer, first, shouting));
    conversation.record(prompt, replyTokens, replyText);
    expect(conversation.promptFor(followUp).tokens).toEqual(
      chatPromptTokens(tokenizer, followUp, shouting),
    );
  });
});
