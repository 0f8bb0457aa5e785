import llama3TokenizerJs from "llama3-tokenizer-js";
import { describe, expect, it } from "vitest";
import {
  LLAMA3_TOKENIZER_METADATA_KINDS,
  llama3TokenizerMetadata,
  llama3TokenizerMetadataTyped,
} from "./llama3-tokenizer-metadata.ts";

describe("llama3TokenizerMetadata", () => {
  const m = llama3TokenizerMetadata();
  const tokens = m["tokenizer.ggml.tokens"] as string[];
  const types = m["tokenizer.ggml.token_type"] as number[];

  it("has the sizes and first merges the published 2B4T GGUF's load log shows", () => {
    expect(m["tokenizer.ggml.model"]).toBe("gpt2");
    expect(tokens).toHaveLength(128256);
    expect(types).toHaveLength(128256);
    expect(m["tokenizer.ggml.scores"]).toHaveLength(128256);
    const merges = m["tokenizer.ggml.merges"] as string[];
    expect(merges).toHaveLength(280147);
    expect(merges.slice(0, 3)).toEqual(["Ġ Ġ", "Ġ ĠĠĠ", "ĠĠ ĠĠ"]);
    expect(tokens.slice(0, 7)).toEqual(["!", '"', "#", "$", "%", "&", "'"]);
    expect(m["tokenizer.ggml.bos_token_id"]).toBe(128000);
    expect(m["tokenizer.ggml.eos_token_id"]).toBe(128001);
    expect(m["tokenizer.ggml.padding_token_id"]).toBe(128001);
  });

  it("numbers the specials as BitNet's gpu/tokenizer.py does (128000 + list position)", () => {
    const specials = [
      "<|begin_of_text|>",
      "<|end_of_text|>",
      "<|reserved_special_token_0|>",
      "<|reserved_special_token_1|>",
      "<|reserved_special_token_2|>",
      "<|reserved_special_token_3|>",
      "<|start_header_id|>",
      "<|end_header_id|>",
      "<|reserved_special_token_4|>",
      "<|eot_id|>",
    ];
    for (let i = 5; i < 256 - 5; i++) specials.push(`<|reserved_special_token_${i}|>`);
    expect(tokens.slice(128000)).toEqual(specials);
    expect(types.slice(128000).every((t) => t === 3)).toBe(true);
    expect(types.slice(0, 128000).every((t) => t === 1)).toBe(true);
  });

  it("has the same 128000 byte-level tokens as llama3-tokenizer-js's own data", () => {
    expect(tokens.slice(0, 128000)).toEqual(llama3TokenizerJs.vocabById.slice(0, 128000));
  });

  it("gives every key a GGUF type, arrays of strings and numbers told apart", () => {
    const typed = llama3TokenizerMetadataTyped();
    for (const [key, { kind, value }] of Object.entries(typed)) {
      expect(LLAMA3_TOKENIZER_METADATA_KINDS).toHaveProperty(key, kind);
      if (kind === "array<string>") expect(typeof (value as unknown[])[0]).toBe("string");
      if (kind === "array<int32>" || kind === "array<float32>") {
        expect(typeof (value as unknown[])[0]).toBe("number");
      }
      if (kind === "uint32") expect(Number.isInteger(value)).toBe(true);
    }
    expect(typed["tokenizer.ggml.add_bos_token"]).toEqual({ kind: "bool", value: true });
    expect(typed["tokenizer.chat_template"].value).toContain("'Assistant: '");
  });
});
