/**
 * The built-in demo model (public/demo/trit-demo-brown-i2_s.gguf) against the PyTorch model it
 * was trained as. scripts/demo-model/export.py wrote demo-model.fixture.json from the exact
 * quantised forward (integer codes, per-token int8 activations rounded half to even in f32,
 * f16 embedding) on held-out Brown corpus text. Trit's tokenizer, its reference engine and its
 * wasm engine must give the same prompt ids, the same greedy continuations and, on a held-out
 * excerpt, the same per-token NLL (mean within 0.5 %).
 */
import { openAsBlob, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ForwardModel } from "../bitnet/forward-model.ts";
import { greedyContinuation, ModelSession } from "../generate/index.ts";
import { summarizeNll, textNll } from "../generate/perplexity.ts";
import { readGgufHeader } from "../gguf/index.ts";
import { loadKernelWeights } from "../kernels/gguf-weights.ts";
import { KernelModel } from "../kernels/model.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { ReferenceModel } from "./forward.ts";
import { loadBitNetWeights } from "./load-weights.ts";

interface Fixture {
  model: string;
  max_new_tokens: number;
  prompts: {
    text: string;
    ids: number[];
    greedy: number[];
    stopped: boolean;
    /** Per step, PyTorch's top logit minus the runner-up. */
    margins: number[];
  }[];
  excerpt: { text: string; ids: number[]; nll: number[] };
}

const fixture = JSON.parse(
  readFileSync(new URL("./demo-model.fixture.json", import.meta.url), "utf8"),
) as Fixture;
const modelPath = new URL(`../../../${fixture.model}`, import.meta.url);

let blob: Blob;
let tokenizer: Tokenizer;
beforeAll(async () => {
  blob = await openAsBlob(modelPath);
  tokenizer = Tokenizer.fromGgufMetadata((await readGgufHeader(blob)).metadata);
});

describe("demo model: the fixture is a real test", () => {
  it("has at least 20 held-out prompts and a held-out excerpt", () => {
    expect(fixture.prompts.length).toBeGreaterThanOrEqual(20);
    expect(fixture.prompts.filter((p) => p.greedy.length > 0).length).toBeGreaterThanOrEqual(20);
    expect(fixture.excerpt.nll.length).toBe(fixture.excerpt.ids.length - 1);
    expect(fixture.excerpt.nll.length).toBeGreaterThan(100);
  });
});

describe("demo model: Trit's tokenizer reads its vocabulary as the trainer wrote it", () => {
  it("encodes every prompt and the excerpt to the trainer's ids", () => {
    for (const p of fixture.prompts) {
      expect(tokenizer.encode(p.text, { addBos: true, parseSpecial: true }), p.text).toEqual(p.ids);
    }
    const { text, ids } = fixture.excerpt;
    expect(tokenizer.encode(text, { addBos: true, parseSpecial: false })).toEqual(ids);
  });

  it("decodes the trainer's ids back to the text", () => {
    const { text, ids } = fixture.excerpt;
    expect(tokenizer.decode(ids.slice(1))).toBe(text);
  });
});

/** Logit gap below which two engines' rounding may pick different greedy tokens. */
const NEAR_TIE = 1e-3;

const engines: [string, () => Promise<ForwardModel & { dispose?: () => void }>][] = [
  ["reference", async () => new ReferenceModel(await loadBitNetWeights(blob), 512)],
  [
    "wasm kernels",
    async () =>
      KernelModel.create(await loadKernelWeights(blob), { threads: 1, maxPositions: 512 }),
  ],
];

describe.each(engines)("demo model on the %s engine matches PyTorch", (_name, make) => {
  let model: ForwardModel & { dispose?: () => void };
  beforeAll(async () => {
    model = await make();
  });
  afterAll(() => model.dispose?.());

  it("gives the same greedy continuation of the held-out prompts (≥ 20, and all but near-ties)", async () => {
    const session = new ModelSession(model);
    let same = 0;
    for (const p of fixture.prompts) {
      const ours = await greedyContinuation(session, tokenizer, p.ids, fixture.max_new_tokens);
      const theirs = [...p.greedy, ...(p.stopped ? [-1] : [])];
      const split = ours.findIndex((t, i) => t !== theirs[i]);
      if (split < 0 && ours.length === theirs.length) {
        same++;
      } else {
        // Parting is allowed only where PyTorch itself had two logits within NEAR_TIE.
        const at = split < 0 ? ours.length : split;
        expect(p.margins[at], `${p.text}: parts at token ${at}`).toBeLessThan(NEAR_TIE);
      }
    }
    expect(same).toBeGreaterThanOrEqual(20);
  });

  it("gives the same per-token NLL on the held-out excerpt (mean within 0.5 %)", () => {
    const { ids, nll: expected } = fixture.excerpt;
    const nll = textNll(model, ids.slice(1), ids[0]);
    const bytes = new TextEncoder().encode(fixture.excerpt.text).length;
    const ours = summarizeNll(nll, bytes);
    const theirs = summarizeNll(expected, bytes);
    expect(Math.abs(ours.mean_nll / theirs.mean_nll - 1)).toBeLessThan(0.005);
    const worst = Math.max(...nll.map((v, i) => Math.abs(v - expected[i])));
    expect(worst).toBeLessThan(0.05);
  });
});
