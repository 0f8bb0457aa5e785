// Trit's engine in headless Chromium (the real Worker path); prints one JSON line.
// npx tsx scripts/bench/browser.ts MODEL THREADS PROMPT GEN [int8|f16] [simd128|relaxed-simd]
// npx tsx scripts/bench/browser.ts --kernels   (single-kernel micro-benchmarks, both builds)
// npx tsx scripts/bench/browser.ts --forms     (the ternary forms of both builds, interleaved)
// npx tsx scripts/bench/browser.ts --compare MODEL THREADS PROMPT GEN   (SIMD128 vs relaxed, interleaved)
import { runBenchPage } from "./browser-page.ts";

const args = process.argv.slice(2);
if (args[0] === "--kernels") {
  console.log(JSON.stringify(await runBenchPage("kernels")));
} else if (args[0] === "--forms") {
  const { forms } = (await runBenchPage("forms")) as { forms: Record<string, unknown>[] };
  console.table(forms);
} else if (args[0] === "--compare") {
  const [, modelPath, threads = "2", prompt = "64", gen = "16"] = args;
  const query = `compare&threads=${threads}&prompt=${prompt}&gen=${gen}`;
  console.log(JSON.stringify(await runBenchPage(query, modelPath)));
} else {
  const [modelPath, threads = "2", prompt = "64", gen = "32", head = "", build = ""] = args;
  if (!modelPath) {
    console.error(
      "usage: browser.ts MODEL THREADS PROMPT GEN [int8|f16] [simd128|relaxed-simd] | --kernels | --forms | --compare MODEL THREADS PROMPT GEN",
    );
    process.exit(2);
  }
  const query = `threads=${threads}&prompt=${prompt}&gen=${gen}&head=${head}&build=${build}`;
  console.log(JSON.stringify(await runBenchPage(query, modelPath)));
}
process.exit(0);
