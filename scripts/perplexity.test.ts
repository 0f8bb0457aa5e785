// `npm run perplexity --compare` against the same comparison made here in-process, token
// by token, on the trained demo model and a held-out excerpt of its fixture.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { greedyContinuation, ModelSession } from "../src/engine/generate/index.ts";
import { tokenNll } from "../src/engine/generate/perplexity.ts";
import { readGgufHeader } from "../src/engine/gguf/index.ts";
import { openGgufFile } from "../src/engine/gguf/node.ts";
import { loadKernelWeights } from "../src/engine/kernels/gguf-weights.ts";
import { KernelModel, type KernelModelOptions } from "../src/engine/kernels/model.ts";
import { Tokenizer } from "../src/engine/tokenizer/tokenizer.ts";

const run = promisify(execFile);
const TSX = join(process.cwd(), "node_modules", ".bin", "tsx");
const PERPLEXITY = join(process.cwd(), "scripts", "perplexity.ts");
const MODEL = join(process.cwd(), "public", "demo", "trit-demo-brown-i2_s.gguf");

interface Fixture {
  prompts: { text: string; ids: number[] }[];
  excerpt: { text: string; ids: number[] };
}
const fixture = JSON.parse(
  readFileSync(new URL("../src/engine/reference/demo-model.fixture.json", import.meta.url), "utf8"),
) as Fixture;
// a few prompts, a few tokens each: the CLI's greedy comparison, kept short
const PROMPTS = { max_new_tokens: 12, prompts: fixture.prompts.slice(0, 4) };

let dir: string;
let textPath: string;
let promptsPath: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "trit-perplexity-"));
  textPath = join(dir, "excerpt.txt");
  promptsPath = join(dir, "prompts.json");
  writeFileSync(textPath, fixture.excerpt.text);
  writeFileSync(promptsPath, JSON.stringify(PROMPTS));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** Top-1 tokens and mean NLL over the excerpt, and greedy continuations, in-process. */
async function measure(options: KernelModelOptions) {
  const blob = await openGgufFile(MODEL);
  const header = await readGgufHeader(blob);
  const tokenizer = Tokenizer.fromGgufMetadata(header.metadata);
  const model = await KernelModel.create(await loadKernelWeights(blob, { header }), {
    threads: 1,
    ...options,
  });
  try {
    const ids = tokenizer.encode(fixture.excerpt.text, { addBos: false, parseSpecial: false });
    expect(ids.length).toBeLessThan(model.maxPositions); // one window, as the CLI reads it
    const top: number[] = [];
    let total = 0;
    let logits = model.forward(tokenizer.bosId, 0);
    ids.forEach((id, i) => {
      top.push(argmax(logits));
      total += tokenNll(logits, id);
      if (i + 1 < ids.length) logits = model.forward(id, i + 1);
    });
    const session = new ModelSession(model);
    const greedy: number[][] = [];
    for (const p of PROMPTS.prompts) {
      greedy.push(await greedyContinuation(session, tokenizer, p.ids, PROMPTS.max_new_tokens));
    }
    return { top, perplexity: Math.exp(total / ids.length), greedy };
  } finally {
    model.dispose();
  }
}

describe("npm run perplexity --compare", () => {
  it("reports the approximate formats' perplexity change, top-1 agreement and greedy partings as measured token by token", async () => {
    const exact = await measure({});
    let changed = 0;
    for (const [flags, options] of [
      [["--head", "int8"], { int8Head: true }],
      [["--kv", "bf16"], { kvCache: "bf16" }],
    ] as const) {
      const { stdout } = await run(TSX, [
        PERPLEXITY,
        "--model",
        MODEL,
        "--text",
        textPath,
        ...flags,
        "--compare",
        "--prompts",
        promptsPath,
      ]);
      const printed = JSON.parse(stdout);
      const approx = await measure(options);
      const same = exact.top.filter((t, i) => t === approx.top[i]).length;
      changed += exact.top.length - same;
      expect(printed.top1_agreement).toBeCloseTo(same / exact.top.length, 12);
      expect(printed.top1_changes.positions).toBe(exact.top.length - same);
      expect(printed.exact.perplexity).toBeCloseTo(exact.perplexity, 6);
      expect(printed.approx.perplexity).toBeCloseTo(approx.perplexity, 6);
      expect(printed.ppl_change_pct).toBeCloseTo(
        100 * (approx.perplexity / exact.perplexity - 1),
        8,
      );
      const identical = exact.greedy.filter(
        (g, i) => JSON.stringify(g) === JSON.stringify(approx.greedy[i]),
      ).length;
      expect(printed.greedy.prompts).toBe(PROMPTS.prompts.length);
      expect(printed.greedy.identical_prompts).toBe(identical);
    }
    // the excerpt is long enough that the formats do change some top-1 choices
    expect(changed).toBeGreaterThan(0);
  }, 120_000);

  it("fails in words on formats it cannot compare", async () => {
    const base = [PERPLEXITY, "--model", MODEL, "--text", textPath];
    await expect(run(TSX, [...base, "--compare"])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--compare needs --head int8 or --kv bf16/),
    });
    await expect(run(TSX, [...base, "--head", "int4"])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--head is "f16" or "int8"/),
    });
    await expect(
      run(TSX, [...base, "--engine", "reference", "--kv", "bf16"]),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/formats of the kernels engine/),
    });
  }, 60_000);
});
