// Trit's engine in Node on a GGUF file; prints one JSON line (BenchResult).
// node --experimental-wasm-relaxed-simd --import tsx scripts/bench/node-trit.ts MODEL THREADS PROMPT GEN [int8|""] [CONTEXT LONGPROMPT LONGGEN [quality]]
import { openGgufFile } from "../../src/engine/gguf/node.ts";
import { runTrit } from "./run-trit.ts";

const [model, threads, prompt, gen, head, context, longPrompt, longGen, quality] =
  process.argv.slice(2);
if (!model) {
  console.error("usage: node-trit.ts MODEL THREADS PROMPT GEN [int8]");
  process.exit(2);
}
const result = await runTrit(await openGgufFile(model), {
  threads: Number(threads ?? 2),
  promptTokens: Number(prompt ?? 64),
  genTokens: Number(gen ?? 32),
  int8Head: head === "int8",
  context: Number(context ?? 0),
  longPrompt: Number(longPrompt ?? 0),
  longGen: Number(longGen ?? 16),
  quality: quality === "quality",
});
// Peak resident memory of the whole process: loading dominates it (the run allocates nothing).
const peak_rss_mib = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ ...result, peak_rss_mib }));
process.exit(0);
