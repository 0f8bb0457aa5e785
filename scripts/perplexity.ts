/**
 * How well a BitNet GGUF predicts a text file: one JSON line with tokens, bytes, mean_nll
 * (nats per token), perplexity and bits_per_byte (see src/engine/generate/perplexity.ts).
 *
 *   npm run perplexity -- --model FILE --text FILE [--ctx N] [--engine kernels|reference] [--threads N]
 *                         [--head f16|int8] [--kv f32|bf16] [--compare] [--prompts FIXTURE]
 *
 * Texts longer than the context are read in windows of ctx − 1 tokens, each after BOS.
 * --ctx defaults to the model's context (at most 4096); --engine defaults to kernels.
 * --head int8 / --kv bf16 run the kernels' approximate formats (the int8 output head, the
 * bf16 KV cache) instead of the exact ones (f16 head, f32 KV). --compare also runs the exact
 * formats and prints the quality of the chosen ones against them: perplexity change and
 * top-1 agreement over the text, with how close the exact path's two best logits were
 * where the top-1 token changed, and, with --prompts (a fixture like
 * src/engine/reference/demo-model.fixture.json), greedy continuations of its prompts. On
 * the trained demo model (see scripts/demo-model/README.md for the held-out text):
 *
 *   npm run perplexity -- --model public/demo/trit-demo-brown-i2_s.gguf \
 *     --text scripts/demo-model/out/held-out.txt --head int8 --compare \
 *     --prompts src/engine/reference/demo-model.fixture.json
 */
import { openAsBlob, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { readBitNetConfig } from "../src/engine/bitnet/config.ts";
import { greedyContinuation, ModelSession } from "../src/engine/generate/index.ts";
import { summarizeNll, textNll } from "../src/engine/generate/perplexity.ts";
import { readGgufHeader } from "../src/engine/gguf/index.ts";
import type { KvFormat } from "../src/engine/kernels/memory-layout.ts";
import { Tokenizer } from "../src/engine/tokenizer/tokenizer.ts";
import { loadEngine } from "./load-engine.ts";

const USAGE =
  "usage: npm run perplexity -- --model FILE --text FILE [--ctx N] [--engine kernels|reference] [--threads N]\n" +
  "                           [--head f16|int8] [--kv f32|bf16] [--compare] [--prompts FIXTURE]";

/** The formats a kernels run uses: the exact ones are f16 (or f32) head and f32 KV. */
interface Formats {
  int8Head: boolean;
  kvCache: KvFormat;
}
const EXACT: Formats = { int8Head: false, kvCache: "f32" };

/** Held-out prompts (demo-model.fixture.json's shape; only the fields used here). */
interface PromptFixture {
  max_new_tokens: number;
  prompts: { text: string; ids: number[] }[];
}

type Engine = Awaited<ReturnType<typeof loadEngine>>;

/** The most likely token and how far its logit is ahead of the runner-up's. */
function topAndMargin(logits: Float32Array): [number, number] {
  let best = 0;
  let second = Number.NEGATIVE_INFINITY;
  for (let i = 1; i < logits.length; i++) {
    if (logits[i] > logits[best]) {
      second = logits[best];
      best = i;
    } else if (logits[i] > second) second = logits[i];
  }
  return [best, logits[best] - second];
}

/** Greedy continuation of each prompt (as the app decodes at temperature 0). */
async function greedyContinuations(
  model: Engine,
  tokenizer: Tokenizer,
  fixture: PromptFixture,
): Promise<number[][]> {
  const session = new ModelSession(model);
  const out: number[][] = [];
  for (const p of fixture.prompts) {
    out.push(await greedyContinuation(session, tokenizer, p.ids, fixture.max_new_tokens));
  }
  return out;
}

/** How the greedy continuations under the chosen formats compare with the exact ones. */
function compareGreedy(exact: number[][], approx: number[][]) {
  let tokens = 0;
  let sameTokens = 0;
  let samePrompts = 0;
  const partsAt: (number | null)[] = [];
  exact.forEach((e, i) => {
    const a = approx[i];
    const split = e.findIndex((t, j) => t !== a[j]);
    const parts = split >= 0 ? split : a.length !== e.length ? e.length : -1;
    if (parts < 0) samePrompts++;
    partsAt.push(parts < 0 ? null : parts);
    tokens += e.length;
    sameTokens += parts < 0 ? e.length : parts;
  });
  return {
    prompts: exact.length,
    identical_prompts: samePrompts,
    // tokens before the first difference, over all exact tokens
    tokens_before_first_difference: sameTokens / tokens,
    parts_at: partsAt,
  };
}

function fail(message: string): never {
  process.stderr.write(`perplexity: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function whole(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min) {
    fail(`--${name} needs a whole number ≥ ${min}, got "${value}".`);
  }
  return n;
}

async function main() {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      options: {
        model: { type: "string" },
        text: { type: "string" },
        ctx: { type: "string" },
        engine: { type: "string" },
        threads: { type: "string" },
        head: { type: "string" },
        kv: { type: "string" },
        compare: { type: "boolean" },
        prompts: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const modelPath = values.model;
  const textPath = values.text;
  if (typeof modelPath !== "string") fail("--model FILE is required.");
  if (typeof textPath !== "string") fail("--text FILE is required.");
  const engine = values.engine ?? "kernels";
  if (engine !== "kernels" && engine !== "reference") {
    fail(`--engine is "kernels" or "reference", not "${String(engine)}".`);
  }
  const head = values.head ?? "f16";
  if (head !== "f16" && head !== "int8") fail(`--head is "f16" or "int8", not "${String(head)}".`);
  const kv = values.kv ?? "f32";
  if (kv !== "f32" && kv !== "bf16") fail(`--kv is "f32" or "bf16", not "${String(kv)}".`);
  const formats: Formats = { int8Head: head === "int8", kvCache: kv };
  const approximate = formats.int8Head || formats.kvCache !== "f32";
  if (engine === "reference" && approximate) {
    fail("--head int8 and --kv bf16 are formats of the kernels engine, not the reference.");
  }
  if (values.compare && !approximate) fail("--compare needs --head int8 or --kv bf16.");
  if (values.prompts !== undefined && !values.compare) fail("--prompts goes with --compare.");
  let fixture: PromptFixture | undefined;
  if (typeof values.prompts === "string") {
    try {
      fixture = JSON.parse(readFileSync(values.prompts, "utf8")) as PromptFixture;
    } catch (error) {
      fail(`cannot read the prompts ${values.prompts}: ${(error as Error).message}`);
    }
    if (!Array.isArray(fixture.prompts) || !Number.isInteger(fixture.max_new_tokens)) {
      fail(`${values.prompts} has no prompts[] and max_new_tokens.`);
    }
  }

  let text: string;
  let blob: Blob;
  try {
    text = readFileSync(textPath, "utf8");
  } catch (error) {
    fail(`cannot read ${textPath}: ${(error as Error).message}`);
  }
  try {
    blob = await openAsBlob(modelPath);
  } catch (error) {
    fail(`cannot open ${modelPath}: ${(error as Error).message}`);
  }
  const header = await readGgufHeader(blob);
  const config = readBitNetConfig(header);
  const tokenizer = Tokenizer.fromGgufMetadata(header.metadata);
  const ctx = whole(
    values.ctx as string | undefined,
    "ctx",
    Math.min(config.contextLength, 4096),
    2,
  );
  if (ctx > config.contextLength)
    fail(`--ctx ${ctx} is more than the model's ${config.contextLength}.`);
  const threads = whole(values.threads as string | undefined, "threads", 1, 1);

  const ids = tokenizer.encode(text, { addBos: false, parseSpecial: false });
  const bytes = new TextEncoder().encode(text).length;
  /** The text's figures (and top-1 choices, greedy continuations) under some formats. */
  const measure = async (f: Formats) => {
    const model = await loadEngine(blob, header, engine, { threads, positions: ctx, ...f });
    try {
      const top1 = new Int32Array(ids.length);
      const margin = new Float32Array(ids.length);
      const nll = textNll(model, ids, tokenizer.bosId, {
        onLogits: (logits, i) => {
          [top1[i], margin[i]] = topAndMargin(logits);
        },
      });
      const greedy = fixture ? await greedyContinuations(model, tokenizer, fixture) : undefined;
      return { result: summarizeNll(nll, bytes), top1, margin, greedy };
    } finally {
      model.dispose?.();
    }
  };
  const chosen = await measure(formats);
  if (!values.compare) {
    process.stdout.write(`${JSON.stringify(chosen.result)}\n`);
    return;
  }
  const exact = await measure(EXACT);
  // where the top-1 choice changed: how close the exact path's two best logits were
  const flipped = [...exact.margin.filter((_, i) => exact.top1[i] !== chosen.top1[i])];
  flipped.sort((a, b) => a - b);
  const quality = {
    formats: { head, kv },
    exact: exact.result,
    approx: chosen.result,
    ppl_change_pct: 100 * (chosen.result.perplexity / exact.result.perplexity - 1),
    top1_agreement: 1 - flipped.length / ids.length,
    top1_changes: {
      positions: flipped.length,
      exact_margin_median: flipped.length ? flipped[flipped.length >> 1] : null,
      exact_margin_max: flipped.length ? flipped[flipped.length - 1] : null,
    },
    ...(exact.greedy && chosen.greedy
      ? { greedy: compareGreedy(exact.greedy, chosen.greedy) }
      : {}),
  };
  process.stdout.write(`${JSON.stringify(quality)}\n`);
}

await main();
