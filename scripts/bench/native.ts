// Native llama.cpp (node-llama-cpp's prebuilt CPU binary) on the same GGUF, same threads,
// same prompt and token counts as Trit's run; prints one JSON line.
// npx tsx scripts/bench/native.ts MODEL THREADS PROMPT GEN
import { getLlama, type Token } from "node-llama-cpp";
import { benchPrompt, median } from "./run-trit.ts";

const [modelPath, threadsArg, promptArg, genArg] = process.argv.slice(2);
if (!modelPath) {
  console.error("usage: native.ts MODEL THREADS PROMPT GEN");
  process.exit(2);
}
const threads = Number(threadsArg ?? 2);
const promptTokens = Number(promptArg ?? 64);
const genTokens = Number(genArg ?? 32);

const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({
  contextSize: promptTokens + genTokens + 16,
  batchSize: promptTokens,
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

// decode: the last prompt token, then greedy tokens; the first output token is the
// prefill's logits, as in Trit's run, so count the steps after it
const tokens: number[] = [];
const stepTimes: number[] = [];
let last = 0;
for await (const token of sequence.evaluate(prompt.slice(-1), { temperature: 0 })) {
  const now = performance.now();
  if (tokens.length > 0) stepTimes.push((now - last) / 1000);
  last = now;
  tokens.push(token);
  if (tokens.length > genTokens) break;
}
console.log(
  JSON.stringify({
    threads,
    prefill_tok_s: (promptTokens - 1) / prefillSeconds,
    decode_tok_s: 1 / median(stepTimes),
    decode_mean_tok_s: stepTimes.length / stepTimes.reduce((a, b) => a + b, 0),
    tokens: tokens.slice(0, genTokens),
  }),
);
await context.dispose();
await model.dispose();
process.exit(0);
