// Trit's engine in headless Chromium (the real Worker path); prints one JSON line.
// npx tsx scripts/bench/browser.ts MODEL THREADS PROMPT GEN [FLAGS] [CONTEXT LONGPROMPT LONGGEN]
//   FLAGS: "" or a comma list of int8 (the int8 head), kv-bf16 (a bf16 KV cache), quality
//   (the int8 head against the exact one; see run-trit.ts)
// npx tsx scripts/bench/browser.ts --kernels   (single-kernel micro-benchmarks, both builds)
import { runBenchPage } from "./browser-page.ts";

const args = process.argv.slice(2);
if (args[0] === "--kernels") {
  console.log(JSON.stringify(await runBenchPage("kernels")));
} else {
  const [modelPath, threads = "2", prompt = "64", gen = "32", flags = ""] = args;
  const [context = "0", longPrompt = "0", longGen = "16"] = args.slice(5);
  if (!modelPath) {
    console.error(
      "usage: browser.ts MODEL THREADS PROMPT GEN [FLAGS] [CONTEXT LONGPROMPT LONGGEN] | --kernels",
    );
    process.exit(2);
  }
  const query =
    `threads=${threads}&prompt=${prompt}&gen=${gen}&flags=${flags}` +
    `&context=${context}&longPrompt=${longPrompt}&longGen=${longGen}`;
  console.log(JSON.stringify(await runBenchPage(query, modelPath)));
}
process.exit(0);
