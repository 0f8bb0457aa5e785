/** The Llama 3 tokenizer keys as typed GGUF metadata, ready for the writer. */
import {
  type GgufTypedValue,
  type GgufTypeTag,
  GgufValueType as T,
} from "../src/engine/gguf/index.ts";
import {
  type GgufMetadataKind,
  llama3TokenizerMetadataTyped,
} from "./llama3-tokenizer-metadata.ts";

const TAGS: Record<GgufMetadataKind, GgufTypeTag> = {
  string: T.STRING,
  uint32: T.UINT32,
  bool: T.BOOL,
  "array<string>": { array: T.STRING },
  "array<int32>": { array: T.INT32 },
  "array<float32>": { array: T.FLOAT32 },
};

export function llama3TokenizerGguf(): Record<string, GgufTypedValue> {
  const out: Record<string, GgufTypedValue> = {};
  for (const [key, { kind, value }] of Object.entries(llama3TokenizerMetadataTyped())) {
    out[key] = { type: TAGS[kind], value };
  }
  return out;
}
