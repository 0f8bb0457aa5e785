import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatPromptTokens, generate, ModelSession } from "../src/engine/generate/index.ts";
import { readGgufHeader } from "../src/engine/gguf/index.ts";
import { openGgufFile } from "../src/engine/gguf/node.ts";
import { ReferenceModel } from "../src/engine/reference/forward.ts";
import { loadBitNetWeights } from "../src/engine/reference/load-weights.ts";
import { DEFAULT_SAMPLING } from "../src/engine/sampling/defaults.ts";
import { createSampler } from "../src/engine/sampling/sampler.ts";
import { Tokenizer } from "../src/engine/tokenizer/tokenizer.ts";
import { TINY_SHAPE, writeBitNetModels } from "../test-support/bitnet-model.ts";
import { llama3TokenizerGguf } from "../test-support/tokenizer.ts";

const run = promisify(execFile);
const TSX = join(process.cwd(), "node_modules", ".bin", "tsx");
const CHAT = join(process.cwd(), "scripts", "chat.ts");

let dir: string;
let model: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "trit-chat-"));
  model = join(dir, "tiny-i2_s.gguf");
  await writeBitNetModels(TINY_SHAPE, [{ format: "i2_s", path: model }], {
    seed: 7,
    name: "chat cli test",
    tokenizer: llama3TokenizerGguf(),
  });
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The greedy reply computed in-process with the same engine code, the independent side. */
async function expectedReply(user: string, maxTokens: number): Promise<string> {
  const blob = await openGgufFile(model);
  const header = await readGgufHeader(blob);
  const tokenizer = Tokenizer.fromGgufMetadata(header.metadata);
  const weights = await loadBitNetWeights(blob, { header });
  const result = await generate({
    session: new ModelSession(new ReferenceModel(weights, 256)),
    tokenizer,
    sampler: createSampler({
      temperature: 0,
      topK: 40,
      topP: 0.95,
      minP: 0.05,
      // The CLI's default penalty is the app's (one set of defaults).
      repetitionPenalty: DEFAULT_SAMPLING.repetitionPenalty,
      maxTokens,
      seed: 0,
    }),
    promptTokens: chatPromptTokens(
      tokenizer,
      [{ role: "user", content: user }],
      header.metadata["tokenizer.chat_template"],
    ),
    maxTokens,
  });
  return result.text;
}

describe("npm run chat", () => {
  it("--prompt --temp 0 prints only the greedy reply and exits, on either engine", async () => {
    const args = [CHAT, "--model", model, "--prompt", "Hello there", "--max-tokens", "8"];
    const expected = `${await expectedReply("Hello there", 8)}\n`;
    expect(expected.length).toBeGreaterThan(2);
    const reference = await run(TSX, [...args, "--temp", "0", "--engine", "reference"]);
    expect(reference.stdout).toBe(expected);
    expect(reference.stderr).not.toMatch(/tok\/s/); // stats only with --stats
    // the default engine is the wasm one the worker runs; greedy, it must say the same
    const kernels = await run(TSX, [...args, "--temp", "0"]);
    expect(kernels.stdout).toBe(expected);
  }, 60_000);

  it("--stats reports speed on stderr; --seed makes sampled runs repeatable", async () => {
    const args = [CHAT, "--model", model, "--prompt", "Hi", "--max-tokens", "6", "--temp", "1"];
    const a = await run(TSX, [...args, "--seed", "5", "--stats"]);
    const b = await run(TSX, [...args, "--seed", "5"]);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stderr).toMatch(/generated 6 tok at [\d.]+ tok\/s/);
  }, 60_000);

  it("fails in words on a missing model or a bad number", async () => {
    await expect(run(TSX, [CHAT, "--prompt", "x"])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--model FILE is required/),
    });
    await expect(
      run(TSX, [CHAT, "--model", model, "--prompt", "x", "--max-tokens", "lots"]),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--max-tokens needs a number/),
    });
    await expect(
      run(TSX, [CHAT, "--model", join(dir, "nope.gguf"), "--prompt", "x"]),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/cannot open/) });
    await expect(
      run(TSX, [CHAT, "--model", model, "--prompt", "x", "--engine", "gpu"]),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--engine is "kernels" or "reference"/),
    });
  }, 60_000);
});
