/**
 * How well a BitNet GGUF predicts a text file: one JSON line with tokens, bytes, mean_nll
 * (nats per token), perplexity and bits_per_byte (see src/engine/generate/perplexity.ts).
 *
 *   npm run perplexity -- --model FILE --text FILE [--ctx N] [--engine kernels|reference] [--threads N]
 *
 * Texts longer than the context are read in windows of ctx − 1 tokens, each after BOS.
 * --ctx defaults to the model's context (at most 4096); --engine defaults to kernels.
 */
import { openAsBlob, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { readBitNetConfig } from "../src/engine/bitnet/config.ts";
import { summarizeNll, textNll } from "../src/engine/generate/perplexity.ts";
import { readGgufHeader } from "../src/engine/gguf/index.ts";
import { Tokenizer } from "../src/engine/tokenizer/tokenizer.ts";
import { loadEngine } from "./load-engine.ts";

const USAGE =
  "usage: npm run perplexity -- --model FILE --text FILE [--ctx N] [--engine kernels|reference] [--threads N]";

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

  const model = await loadEngine(blob, header, engine, { threads, positions: ctx });
  const ids = tokenizer.encode(text, { addBos: false, parseSpecial: false });
  const nll = textNll(model, ids, tokenizer.bosId);
  model.dispose?.();
  const bytes = new TextEncoder().encode(text).length;
  process.stdout.write(`${JSON.stringify(summarizeNll(nll, bytes))}\n`);
}

await main();
