/**
 * The generated tiny models load in llama.cpp (node-llama-cpp's prebuilt CPU binary) for
 * every format it knows (TQ1_0, TQ2_0, F16, F32; not I2_S, which only the BitNet fork
 * reads), read the real Llama 3 tokenizer from them, and generate without error.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, type Llama, LlamaLogLevel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBitNetConfig, validateBitNetTensors } from "../src/engine/bitnet/config.ts";
import { readGgufHeader } from "../src/engine/gguf/index.ts";
import { openGgufFile } from "../src/engine/gguf/node.ts";
import { TINY_SHAPE, type WeightFormat, writeBitNetModels } from "./bitnet-model.ts";
import { llama3TokenizerMetadata } from "./llama3-tokenizer-metadata.ts";
import { llama3TokenizerGguf } from "./tokenizer.ts";

const dir = mkdtempSync(join(tmpdir(), "trit-llama-"));

const FORMATS: WeightFormat[] = ["tq1_0", "tq2_0", "f16", "f32"];

describe("llama.cpp loads the generated tiny models", () => {
  const outputs = FORMATS.map((format) => ({ format, path: join(dir, `tiny-${format}.gguf`) }));
  let llama: Llama;
  beforeAll(async () => {
    await writeBitNetModels(TINY_SHAPE, outputs, {
      seed: 1,
      name: "llama.cpp check",
      tokenizer: llama3TokenizerGguf(),
    });
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  }, 120_000);
  afterAll(async () => {
    await llama?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("our reader sees the real vocabulary and a valid BitNet layout", async () => {
    const header = await readGgufHeader(await openGgufFile(outputs[0].path));
    const config = readBitNetConfig(header);
    validateBitNetTensors(header, config);
    expect(config.vocab).toBe(128256);
    const tokens = header.metadata["tokenizer.ggml.tokens"] as string[];
    const merges = header.metadata["tokenizer.ggml.merges"] as string[];
    const source = llama3TokenizerMetadata();
    expect(tokens).toEqual(source["tokenizer.ggml.tokens"]);
    expect(merges.length).toBe((source["tokenizer.ggml.merges"] as string[]).length);
    expect(tokens[128009]).toBe("<|eot_id|>");
  });

  const greedy = new Map<WeightFormat, number[]>();

  for (const { format, path } of outputs) {
    it(`${format}: loads, tokenizes like Llama 3 and generates`, async () => {
      const model = await llama.loadModel({ modelPath: path });
      try {
        // Llama 3 ids: "Hello" 9906, " world" 1917 (an independent fact of the vocabulary).
        expect(model.tokenize("Hello world")).toEqual([9906, 1917]);
        expect(model.tokens.bos).toBe(128000);
        const context = await model.createContext({ contextSize: 128, threads: 1 });
        try {
          const sequence = context.getSequence();
          const generated: number[] = [];
          const prompt = model.tokenize("The capital of France is");
          for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
            generated.push(token);
            if (generated.length === 8) break;
          }
          expect(generated).toHaveLength(8);
          for (const t of generated) expect(t).toBeLessThan(128256);
          // Random weights, but not the degenerate model that repeats one token.
          expect(new Set(generated).size).toBeGreaterThan(2);
          greedy.set(format, generated);
        } finally {
          await context.dispose();
        }
      } finally {
        await model.dispose();
      }
    });
  }

  it("llama.cpp decodes our TQ1_0 and TQ2_0 packing to the same weights", () => {
    // Both formats hold the same codes and d, and llama.cpp's TQ1_0 and TQ2_0 dot
    // products are the same integer sums × d, so any bit-order mistake in either
    // encoder changes these tokens.
    expect(greedy.get("tq1_0")).toBeDefined();
    expect(greedy.get("tq1_0")).toEqual(greedy.get("tq2_0"));
  });
});
