import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, type Llama, LlamaLogLevel, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { llama3TokenizerMetadata } from "../../../test-support/llama3-tokenizer-metadata.ts";
import { llama3TokenizerGguf } from "../../../test-support/tokenizer.ts";
import { generatedDocuments, packageDocuments } from "../../../test-support/tokenizer-corpus.ts";
import {
  encodeGguf,
  type GgufTypedValue,
  parseGgufHeader,
  GgufValueType as T,
} from "../gguf/index.ts";
import { Tokenizer } from "./tokenizer.ts";

/**
 * A second truth besides llama3-tokenizer-js: llama.cpp's own tokenizer (C++, its own
 * Unicode tables and regex), reading the same metadata from a vocabulary-only GGUF.
 * This is what the native parity runs of the model will tokenize with. (Decoding is not
 * compared: llama.cpp's detokenizer tidies spaces, e.g. "over 's" becomes "over's".)
 */

let dir: string;
let llama: Llama;
let model: LlamaModel;
let tok: Tokenizer;
let fileBytes: Uint8Array;

beforeAll(async () => {
  const metadata: Record<string, GgufTypedValue> = {
    // The smallest llama.cpp accepts as hyperparameters; no tensors are read.
    "general.architecture": { type: T.STRING, value: "llama" },
    "llama.block_count": { type: T.UINT32, value: 1 },
    "llama.context_length": { type: T.UINT32, value: 4096 },
    "llama.embedding_length": { type: T.UINT32, value: 64 },
    "llama.feed_forward_length": { type: T.UINT32, value: 128 },
    "llama.attention.head_count": { type: T.UINT32, value: 1 },
    "llama.attention.layer_norm_rms_epsilon": { type: T.FLOAT32, value: 1e-5 },
    ...llama3TokenizerGguf(),
  };
  dir = mkdtempSync(join(tmpdir(), "trit-vocab-"));
  const path = join(dir, "vocab.gguf");
  fileBytes = encodeGguf(metadata, []);
  writeFileSync(path, fileBytes);
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.disabled });
  model = await llama.loadModel({ modelPath: path, vocabOnly: true });
  tok = Tokenizer.fromGgufMetadata(llama3TokenizerMetadata());
});

afterAll(async () => {
  await model?.dispose();
  await llama?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("Tokenizer against llama.cpp", () => {
  it("encodes the corpus to the same ids, with and without special-token parsing", () => {
    const docs = [
      ...packageDocuments().map((d) => d.text),
      ...generatedDocuments(30, 3, { specials: true }),
      // Characters where JavaScript's \s and Unicode's White_Space disagree.
      "a \u0085\u0085 b\ufeff \ufeff c \u180e\u180e d\u2028\u2029 e",
    ];
    for (const [i, text] of docs.entries()) {
      expect(tok.encode(text, { parseSpecial: true }), `document ${i}`).toEqual(
        Array.from(model.tokenize(text, true)),
      );
      expect(tok.encode(text), `document ${i}, plain`).toEqual(
        Array.from(model.tokenize(text, false)),
      );
    }
  });

  it("builds the same tokenizer from the file read back by the GGUF parser", () => {
    const fromFile = Tokenizer.fromGgufMetadata(parseGgufHeader(fileBytes).metadata);
    expect(fromFile.vocabSize).toBe(128256);
    expect([fromFile.bosId, fromFile.eosId, fromFile.eotId]).toEqual([128000, 128001, 128009]);
    const text = generatedDocuments(1, 5, { specials: true })[0];
    expect(fromFile.encode(text, { parseSpecial: true })).toEqual(
      tok.encode(text, { parseSpecial: true }),
    );
  });
});
