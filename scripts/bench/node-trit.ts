// Trit's engine in Node on a GGUF file; prints one JSON line (BenchResult).
// node --experimental-wasm-relaxed-simd --import tsx scripts/bench/node-trit.ts MODEL THREADS PROMPT GEN [FLAGS] [CONTEXT LONGPROMPT LONGGEN]
// (FLAGS: see scripts/bench/browser.ts)
import { openGgufFile } from "../../src/engine/gguf/node.ts";
import { benchFlags, runTrit } from "./run-trit.ts";

const [model, threads, prompt, gen, flags, context, longPrompt, longGen] = process.argv.slice(2);
if (!model) {
  console.error(
    "usage: node-trit.ts MODEL THREADS PROMPT GEN [FLAGS] [CONTEXT LONGPROMPT LONGGEN]",
  );
  process.exit(2);
}
const result = await runTrit(await openGgufFile(model), {
  threads: Number(threads ?? 2),
  promptTokens: Number(prompt ?? 64),
  genTokens: Number(gen ?? 32),
  ...benchFlags(flags ?? ""),
  context: Number(context ?? 0),
  longPrompt: Number(longPrompt ?? 0),
  longGen: Number(longGen ?? 16),
});
// Peak resident memory of the whole process: loading dominates it (the run allocates nothing).
const peak_rss_mib = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ ...result, peak_rss_mib }));
process.exit(0);
