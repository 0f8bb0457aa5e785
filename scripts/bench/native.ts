// Native llama.cpp (node-llama-cpp's prebuilt CPU binary) on the same GGUF, same threads,
// same prompt and token counts as Trit's run; prints one JSON line.
// npx tsx scripts/bench/native.ts MODEL THREADS PROMPT GEN [CONTEXT LONGPROMPT LONGGEN]
// With CONTEXT: also the first LONGPROMPT tokens of a CONTEXT-token prompt timed as one
// prefill, and LONGGEN greedy steps after the whole context (as run-trit.ts does).
import { getLlama, type Token } from "node-llama-cpp";
import { benchPrompt, median } from "./run-trit.ts";

const [modelPath, threadsArg, promptArg, genArg, contextArg, longPromptArg, longGenArg] =
  process.argv.slice(2);
if (!modelPath) {
  console.error("usage: native.ts MODEL THREADS PROMPT GEN [CONTEXT LONGPROMPT LONGGEN]");
  process.exit(2);
}
const threads = Number(threadsArg ?? 2);
const promptTokens = Number(promptArg ?? 64);
const genTokens = Number(genArg ?? 32);
const longContext = Number(contextArg ?? 0);
const longPrompt = Math.min(Number(longPromptArg ?? 0) || longContext, longContext - 1);
const longGen = Number(longGenArg ?? 16);

const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({
  contextSize: Math.max(promptTokens + genTokens, longContext + longGen) + 16,
  batchSize: Math.max(promptTokens, longPrompt),
  threads: { ideal: threads, min: threads },
});
const sequence = context.getSequence();
const prompt = benchPrompt(promptTokens) as Token[];

// warm-up, then start over
await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, 1));
await sequence.clearHistory();

// prefill: median of three runs
const prefillTimes: number[] = [];
for (let i = 0; i < 3; i++) {
  await sequence.clearHistory();
  const t = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
  prefillTimes.push((performance.now() - t) / 1000);
}
const prefillSeconds = median(prefillTimes);

/**
 * Decode: the last prompt token, then greedy tokens; the first output token is the
 * prefill's logits, as in Trit's run, so count the steps after it.
 */
async function decode(last: Token, count: number) {
  const tokens: number[] = [];
  const stepTimes: number[] = [];
  let before = 0;
  for await (const token of sequence.evaluate([last], { temperature: 0 })) {
    const now = performance.now();
    if (tokens.length > 0) stepTimes.push((now - before) / 1000);
    before = now;
    tokens.push(token);
    if (tokens.length > count) break;
  }
  return { tokens, stepTimes };
}
const { tokens, stepTimes } = await decode(prompt[prompt.length - 1], genTokens);

const long: Record<string, number> = {};
if (longContext > 0) {
  const context = benchPrompt(longContext) as Token[];
  await sequence.clearHistory();
  const t = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(context.slice(0, longPrompt));
  long.prefill_tok_s_long = longPrompt / ((performance.now() - t) / 1000);
  if (longPrompt < longContext - 1) {
    await sequence.evaluateWithoutGeneratingNewTokens(context.slice(longPrompt, -1));
  }
  const steps = (await decode(context[context.length - 1], longGen)).stepTimes;
  long.decode_tok_s_long = 1 / median(steps);
}
console.log(
  JSON.stringify({
    threads,
    prefill_tok_s: (promptTokens - 1) / prefillSeconds,
    decode_tok_s: 1 / median(stepTimes),
    decode_mean_tok_s: stepTimes.length / stepTimes.reduce((a, b) => a + b, 0),
    tokens: tokens.slice(0, genTokens),
    ...long,
  }),
);
await context.dispose();
await model.dispose();
process.exit(0);
