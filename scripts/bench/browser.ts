// Trit's engine in a browser (the real Worker path); prints one JSON line.
// npx tsx scripts/bench/browser.ts [--engine chromium|firefox|webkit] MODEL THREADS PROMPT GEN [FLAGS] [CONTEXT LONGPROMPT LONGGEN]
//   FLAGS: "" or a comma list of int8 (the int8 head), kv-bf16 (a bf16 KV cache), formN (only
//   ternary form N is a candidate; several allowed), quality
//   (the int8 head against the exact one; see run-trit.ts), simd128 or relaxed-simd (force a build)
// npx tsx scripts/bench/browser.ts --kernels   (single-kernel micro-benchmarks, both builds)
// npx tsx scripts/bench/browser.ts --forms     (the ternary forms of both builds, interleaved)
// npx tsx scripts/bench/browser.ts --compare MODEL THREADS PROMPT GEN   (SIMD128 vs relaxed, interleaved)
import { BENCH_BROWSERS, type BenchBrowser, runBenchPage } from "./browser-page.ts";

let args = process.argv.slice(2);
let engine: BenchBrowser = "chromium";
if (args[0] === "--engine") {
  engine = args[1] as BenchBrowser;
  if (!BENCH_BROWSERS.includes(engine)) {
    console.error(`--engine must be one of ${BENCH_BROWSERS.join(", ")}`);
    process.exit(2);
  }
  args = args.slice(2);
}
if (args[0] === "--kernels") {
  console.log(JSON.stringify(await runBenchPage("kernels", undefined, 900_000, engine)));
} else if (args[0] === "--forms") {
  const { forms } = (await runBenchPage("forms", undefined, 900_000, engine)) as {
    forms: Record<string, unknown>[];
  };
  console.table(forms);
} else if (args[0] === "--compare") {
  const [, modelPath, threads = "2", prompt = "64", gen = "16"] = args;
  const query = `compare&threads=${threads}&prompt=${prompt}&gen=${gen}`;
  console.log(JSON.stringify(await runBenchPage(query, modelPath, 900_000, engine)));
} else {
  const [modelPath, threads = "2", prompt = "64", gen = "32", allFlags = ""] = args;
  const [context = "0", longPrompt = "0", longGen = "16"] = args.slice(5);
  if (!modelPath) {
    console.error(
      "usage: browser.ts [--engine NAME] MODEL THREADS PROMPT GEN [FLAGS] [CONTEXT LONGPROMPT LONGGEN] | --kernels | --forms | --compare MODEL THREADS PROMPT GEN",
    );
    process.exit(2);
  }
  const builds = ["simd128", "relaxed-simd"];
  const flagList = allFlags.split(",").filter(Boolean);
  const build = flagList.find((f) => builds.includes(f)) ?? "";
  const flags = flagList.filter((f) => !builds.includes(f)).join(",");
  const query =
    `threads=${threads}&prompt=${prompt}&gen=${gen}&flags=${flags}&build=${build}` +
    `&context=${context}&longPrompt=${longPrompt}&longGen=${longGen}`;
  console.log(JSON.stringify(await runBenchPage(query, modelPath, 900_000, engine)));
}
process.exit(0);
