import { describe, expect, it } from "vitest";
import { llama3TokenizerMetadata } from "../../../test-support/llama3-tokenizer-metadata.ts";
import { BITNET_PLACEHOLDER_CHAT_TEMPLATE } from "../chat/template.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { chatPromptTokens, rawPromptTokens } from "./prompt.ts";

const tokenizer = Tokenizer.fromGgufMetadata({
  ...llama3TokenizerMetadata(),
  "tokenizer.ggml.add_bos_token": true,
});
const BOS = 128000;
const EOT = 128009;

describe("chat prompt tokens", () => {
  it("renders the 2B4T turns after one BOS and ends with the assistant's opening", () => {
    const ids = chatPromptTokens(tokenizer, [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ]);
    // <|begin_of_text|>System: Be brief.<|eot_id|>User: Hi<|eot_id|>Assistant: (BitNet's ChatFormat)
    expect(ids[0]).toBe(BOS);
    expect(ids.filter((t) => t === BOS).length).toBe(1);
    expect(ids.filter((t) => t === EOT).length).toBe(2);
    expect(tokenizer.decode(ids)).toBe(
      "<|begin_of_text|>System: Be brief.<|eot_id|>User: Hi<|eot_id|>Assistant: ",
    );
  });

  it("does not double BOS when the file's template writes it, and replaces BitNet's placeholder", () => {
    const withBos = "{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}";
    const ids = chatPromptTokens(tokenizer, [{ role: "user", content: "x" }], withBos);
    expect(ids.filter((t) => t === BOS).length).toBe(1);
    expect(tokenizer.decode(ids)).toBe("<|begin_of_text|>[x]");
    const placeholder = chatPromptTokens(
      tokenizer,
      [{ role: "user", content: "x" }],
      BITNET_PLACEHOLDER_CHAT_TEMPLATE,
    );
    expect(tokenizer.decode(placeholder)).toBe("<|begin_of_text|>User: x<|eot_id|>Assistant: ");
  });

  it("raw prompts are BOS then the text", () => {
    const ids = rawPromptTokens(tokenizer, "Once upon a time");
    expect(ids[0]).toBe(BOS);
    expect(tokenizer.decode(ids.slice(1))).toBe("Once upon a time");
  });
});
