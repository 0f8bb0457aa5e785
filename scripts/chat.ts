/**
 * Chat with a BitNet GGUF in the terminal, on the same engine code the worker runs.
 *
 *   npm run chat -- --model models/tiny-i2_s.gguf                      # interactive
 *   npm run chat -- --model FILE --prompt "Hi" --max-tokens 32 --temp 0  # one reply, then exit
 *
 * Options: --prompt TEXT (one user message: print only the reply and exit), --raw (no
 * chat template: the prompt is plain text after BOS), --system TEXT, --max-tokens N,
 * --temp T (0 = greedy), --top-k N, --top-p P, --min-p P, --repeat-penalty R, --seed S
 * (sampling defaults are the app's: src/engine/sampling/defaults.ts; the seed is random
 * unless given), --ctx N (KV cache positions, default min(model, 4096)),
 * --engine kernels|reference (default kernels: the wasm engine the worker runs; reference:
 * the scalar TypeScript pass), --threads N (kernel threads, default 1), --stats (print
 * speed to stderr).
 */

import { openAsBlob } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { readBitNetConfig } from "../src/engine/bitnet/config.ts";
import type { ForwardModel } from "../src/engine/bitnet/forward-model.ts";
import type { GenerationStats } from "../src/engine/generate/generate.ts";
import { ChatSession, generate, rawPromptTokens } from "../src/engine/generate/index.ts";
import { readGgufHeader } from "../src/engine/gguf/index.ts";
import { KernelModel } from "../src/engine/kernels/model.ts";
import { DEFAULT_SAMPLING, resolveSeed } from "../src/engine/sampling/defaults.ts";
import { createSampler } from "../src/engine/sampling/sampler.ts";
import { Tokenizer } from "../src/engine/tokenizer/tokenizer.ts";
import type { ChatMessage, SamplingSettings } from "../src/worker/api.ts";
import { loadEngine } from "./load-engine.ts";

const USAGE = `usage: npm run chat -- --model FILE [--prompt TEXT] [--raw] [--system TEXT]
  [--max-tokens N] [--temp T] [--top-k N] [--top-p P] [--min-p P] [--repeat-penalty R]
  [--seed S] [--ctx N] [--engine kernels|reference] [--threads N] [--stats]`;

function fail(message: string): never {
  process.stderr.write(`chat: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) fail(`--${name} needs a number, got "${value}".`);
  return n;
}

function wholeOption(value: string | undefined, name: string, fallback: number, min: number) {
  const n = numberOption(value, name, fallback);
  if (!Number.isInteger(n) || n < min) fail(`--${name} needs a whole number ≥ ${min}, got ${n}.`);
  return n;
}

function printStats(r: GenerationStats & { droppedMessages?: number }) {
  const dropped = r.droppedMessages
    ? `, ${r.droppedMessages} oldest message(s) out of view (cache shifted by ${r.shiftedTokens} tok)`
    : "";
  process.stderr.write(
    `\n[prompt ${r.promptTokens} tok (prefilled ${r.prefilledTokens}) at ${r.prefillTokensPerSecond.toFixed(1)} tok/s, ` +
      `generated ${r.generatedTokens} tok at ${r.decodeTokensPerSecond.toFixed(1)} tok/s, stop: ${r.stopReason}${dropped}]\n`,
  );
}

function parse() {
  return parseArgs({
    options: {
      model: { type: "string" },
      prompt: { type: "string" },
      raw: { type: "boolean", default: false },
      system: { type: "string" },
      "max-tokens": { type: "string" },
      temp: { type: "string" },
      "top-k": { type: "string" },
      "top-p": { type: "string" },
      "min-p": { type: "string" },
      "repeat-penalty": { type: "string" },
      seed: { type: "string" },
      ctx: { type: "string" },
      engine: { type: "string" },
      threads: { type: "string" },
      stats: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
}

async function main() {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (error) {
    fail((error as Error).message);
  }
  const o = args.values;
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!o.model) fail("--model FILE is required.");
  if (o.raw && o.prompt === undefined) fail("--raw needs --prompt TEXT.");

  const d = DEFAULT_SAMPLING;
  const settings: SamplingSettings = resolveSeed({
    temperature: numberOption(o.temp, "temp", d.temperature),
    topK: wholeOption(o["top-k"], "top-k", d.topK, 0),
    topP: numberOption(o["top-p"], "top-p", d.topP),
    minP: numberOption(o["min-p"], "min-p", d.minP),
    repetitionPenalty: numberOption(o["repeat-penalty"], "repeat-penalty", d.repetitionPenalty),
    maxTokens: wholeOption(o["max-tokens"], "max-tokens", d.maxTokens, 0),
    seed: o.seed === undefined ? d.seed : wholeOption(o.seed, "seed", d.seed, 0),
  });

  let blob: Blob;
  try {
    blob = await openAsBlob(o.model);
  } catch (error) {
    fail(`cannot open ${o.model}: ${(error as Error).message}`);
  }
  const header = await readGgufHeader(blob);
  const tokenizer = Tokenizer.fromGgufMetadata(header.metadata);
  const config = readBitNetConfig(header);
  const ctx = wholeOption(o.ctx, "ctx", Math.min(config.contextLength, 4096), 1);
  if (ctx > config.contextLength)
    fail(`--ctx ${ctx} is more than the model's ${config.contextLength}.`);
  const engine = o.engine ?? "kernels";
  if (engine !== "kernels" && engine !== "reference") {
    fail(`--engine is "kernels" or "reference", not "${engine}".`);
  }
  const threads = wholeOption(o.threads, "threads", 1, 1);
  const loadStart = performance.now();
  const model: ForwardModel & { dispose?: () => void } = await loadEngine(blob, header, engine, {
    threads,
    positions: ctx,
  });
  const template = header.metadata["tokenizer.chat_template"];
  const chat = new ChatSession(model, tokenizer, template);
  if (o.stats) {
    const c = config;
    const kind =
      model instanceof KernelModel
        ? `wasm ${model.build}, ${model.threads} thread(s)`
        : "reference";
    process.stderr.write(
      `[${c.architecture}: ${c.layers} layers, hidden ${c.hidden}, ffn ${c.ffn}, ${c.heads}/${c.kvHeads} heads, ` +
        `vocab ${c.vocab}, ${c.activation}; loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s; ` +
        `${kind} engine, KV cache ${ctx}]\n`,
    );
  }

  // One message: print only the reply, exit.
  if (o.prompt !== undefined) {
    const messages: ChatMessage[] = [];
    if (o.system) messages.push({ role: "system", content: o.system });
    messages.push({ role: "user", content: o.prompt });
    const onToken = (piece: string) => process.stdout.write(piece);
    const result = o.raw
      ? await generate({
          session: chat.session,
          tokenizer,
          sampler: createSampler(settings),
          promptTokens: rawPromptTokens(tokenizer, o.prompt),
          maxTokens: settings.maxTokens,
          onToken,
        })
      : await chat.reply(messages, { settings, onToken });
    process.stdout.write("\n");
    if (o.stats) printStats(result);
    model.dispose?.();
    return;
  }

  // Interactive: the whole conversation is re-rendered each turn; the KV cache keeps the
  // common prefix, so only the new turn is prefilled (the worker's own chat session).
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const messages: ChatMessage[] = o.system ? [{ role: "system", content: o.system }] : [];
  process.stdout.write("Type a message; /reset starts over, /exit (or Ctrl-D) quits.\n");
  let controller: AbortController | null = null;
  rl.on("SIGINT", () => {
    if (controller) controller.abort();
    else rl.close();
  });
  // Lines typed (or piped) while a reply streams wait in the iterator's buffer.
  rl.setPrompt("\n> ");
  rl.prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (text === "/exit") break;
    if (text === "/reset") {
      messages.splice(o.system ? 1 : 0);
      chat.reset();
      process.stdout.write("(conversation cleared)\n");
      rl.prompt();
      continue;
    }
    if (text === "") {
      rl.prompt();
      continue;
    }
    messages.push({ role: "user", content: text });
    controller = new AbortController();
    try {
      const result = await chat.reply(messages, {
        settings,
        onToken: (piece) => process.stdout.write(piece),
        signal: controller.signal,
      });
      process.stdout.write("\n");
      messages.push({ role: "assistant", content: result.text });
      if (o.stats) printStats(result);
    } catch (error) {
      // The message stays out of the history; the chat goes on.
      messages.pop();
      process.stderr.write(`chat: ${(error as Error).message}\n`);
    }
    controller = null;
    rl.prompt();
  }
  rl.close();
  model.dispose?.();
}

main().catch((error: unknown) => {
  process.stderr.write(`chat: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
