/**
 * `npm run bench`: decode and prefill speed of Trit's engine on the generator's
 * 2B4T-shaped model, in Node and in headless Chromium (the real Worker path), beside
 * native llama.cpp (node-llama-cpp's prebuilt CPU binary) on the same TQ2_0 file with the
 * same threads, prompt and token counts. Each engine runs in its own child process, one
 * after the other. The machine is shared: figures are medians of per-token times.
 *
 *   npm run bench [-- --json] [--model PATH] [--threads N] [--prompt N] [--gen N]
 *                 [--int8-head] [--skip-node] [--skip-browser] [--skip-native] [--skip-int8]
 *                 [--repeat N]   (each engine N times, default 3; figures are medians)
 *                 [--browser chromium|firefox|webkit]   (repeatable or comma-separated; the
 *                 browsers to run the page in, side by side; default chromium. Firefox ESR and
 *                 WebKitGTK as scripts/ensure-browsers.sh installs them; WebKit with
 *                 SharedArrayBuffer on, as Safari ships it)
 *
 * The exact f16 head is the default; a second Chromium run uses the optional int8 head
 * (--skip-int8 leaves it out; --int8-head makes int8 the head of every Trit run).
 */
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import {
  BENCH_BROWSERS,
  type BenchBrowser,
  chromiumPath,
  hasBrowser,
  hasChromium,
} from "./bench/browser-page.ts";

interface Options {
  json: boolean;
  model: string;
  threads: number;
  prompt: number;
  gen: number;
  int8Head: boolean;
  repeat: number;
  skip: Set<string>;
  browsers: BenchBrowser[];
}

function parseArgs(args: string[]): Options {
  const o: Options = {
    json: false,
    model: "models/bench-2b4t-tq2_0.gguf",
    threads: 2,
    prompt: 64,
    gen: 32,
    int8Head: false,
    repeat: 3,
    skip: new Set(),
    browsers: [],
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--json") o.json = true;
    else if (a === "--model") o.model = value();
    else if (a === "--threads") o.threads = Number(value());
    else if (a === "--prompt") o.prompt = Number(value());
    else if (a === "--gen") o.gen = Number(value());
    else if (a === "--int8-head") o.int8Head = true;
    else if (a === "--repeat") o.repeat = Number(value());
    else if (a.startsWith("--skip-")) o.skip.add(a.slice(7));
    else if (a === "--browser") {
      for (const name of value().split(",")) {
        if (!BENCH_BROWSERS.includes(name as BenchBrowser))
          throw new Error(`--browser takes ${BENCH_BROWSERS.join(", ")}, not ${name}`);
        if (!o.browsers.includes(name as BenchBrowser)) o.browsers.push(name as BenchBrowser);
      }
    } else throw new Error(`unknown option ${a} (see the top of scripts/bench.ts)`);
  }
  for (const [k, v] of [
    ["--threads", o.threads],
    ["--prompt", o.prompt],
    ["--gen", o.gen],
    ["--repeat", o.repeat],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a whole number ≥ 1`);
  }
  if (o.browsers.length === 0) o.browsers = ["chromium"];
  return o;
}

const BROWSER_NAMES: Record<BenchBrowser, string> = {
  chromium: "Chromium",
  firefox: "Firefox",
  webkit: "WebKit",
};

/** Runs a child that prints one JSON line last; returns it parsed. */
function runChild(label: string, command: string, args: string[]): Record<string, unknown> {
  const r = spawnSync(command, args, { encoding: "utf8", maxBuffer: 1 << 26, timeout: 1_800_000 });
  const lines = (r.stdout ?? "").trim().split("\n");
  try {
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    throw new Error(`${label} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** The first run with every numeric field replaced by its median over the runs. */
function medians(runs: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...runs[0], runs: runs.length };
  for (const [key, value] of Object.entries(runs[0])) {
    if (typeof value !== "number") continue;
    const values = runs.map((r) => r[key] as number).sort((a, b) => a - b);
    const m = values.length;
    out[key] = m % 2 ? values[(m - 1) / 2] : (values[m / 2 - 1] + values[m / 2]) / 2;
    if (key === "decode_tok_s") out.decode_tok_s_all = runs.map((r) => r[key]);
  }
  return out;
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const model = resolve(o.model);
  if (!existsSync(model)) {
    throw new Error(`The benchmark model ${model} does not exist: run \`npm run models\` first.`);
  }
  if (!o.skip.has("browser") && o.browsers.includes("chromium") && !hasChromium()) {
    console.error(
      `No Chromium at ${chromiumPath} (set CHROMIUM_PATH, or run scripts/ensure-browsers.sh): skipping the Chromium runs.`,
    );
    o.browsers = o.browsers.filter((b) => b !== "chromium");
  }
  for (const b of o.browsers.filter((b) => b !== "chromium" && !hasBrowser(b))) {
    console.error(`No ${BROWSER_NAMES[b]} here (run scripts/ensure-browsers.sh): skipping it.`);
    o.browsers = o.browsers.filter((x) => x !== b);
  }
  const common = [
    model,
    String(o.threads),
    String(o.prompt),
    String(o.gen),
    o.int8Head ? "int8" : "",
  ];
  const tsx = ["--import", "tsx"];
  const engines: { key: string; label: string; args: string[] }[] = [];
  if (!o.skip.has("node")) {
    engines.push({
      key: "node",
      label: "Trit in Node",
      args: ["--experimental-wasm-relaxed-simd", ...tsx, "scripts/bench/node-trit.ts", ...common],
    });
  }
  for (const b of o.skip.has("browser") ? [] : o.browsers) {
    if (b === "chromium") continue;
    engines.push({
      key: b,
      label: `Trit in ${BROWSER_NAMES[b]}`,
      args: [...tsx, "scripts/bench/browser.ts", "--engine", b, ...common],
    });
  }
  if (!o.skip.has("browser") && o.browsers.includes("chromium")) {
    engines.push({
      key: "browser",
      label: "Trit in Chromium",
      args: [...tsx, "scripts/bench/browser.ts", ...common],
    });
    if (!o.skip.has("int8") && !o.int8Head) {
      engines.push({
        key: "browserInt8",
        label: "Trit in Chromium, int8 head",
        args: [...tsx, "scripts/bench/browser.ts", ...common.slice(0, 4), "int8"],
      });
    }
  }
  if (!o.skip.has("native")) {
    engines.push({
      key: "native",
      label: "llama.cpp (node-llama-cpp)",
      args: [...tsx, "scripts/bench/native.ts", ...common.slice(0, 4)],
    });
  }
  // round robin, so that a burst of load on the machine hits every engine alike
  const runs = new Map<string, Record<string, unknown>[]>(engines.map((e) => [e.key, []]));
  for (let i = 0; i < o.repeat; i++) {
    for (const e of engines) {
      if (!o.json) process.stderr.write(`running ${e.label} (${i + 1}/${o.repeat})…\n`);
      runs.get(e.key)?.push(runChild(e.label, process.execPath, e.args));
    }
  }
  const result = (key: string) => {
    const r = runs.get(key);
    return r && r.length > 0 ? medians(r) : undefined;
  };
  const node = result("node");
  const browser = result("browser");
  const browserInt8 = result("browserInt8");
  const native = result("native");

  const n = (r: Record<string, unknown> | undefined, k: string) =>
    r && typeof r[k] === "number" ? (r[k] as number) : null;
  const ratio = (a: number | null, b: number | null) => (a !== null && b ? a / b : null);
  const summary = {
    model,
    threads: o.threads,
    repeat: o.repeat,
    prompt_tokens: o.prompt,
    gen_tokens: o.gen,
    head: (browser?.head ?? node?.head ?? null) as string | null,
    decode_tok_s: n(node, "decode_tok_s"),
    prefill_tok_s: n(node, "prefill_tok_s"),
    node_build: node?.build ?? null,
    node_roofline_fraction: n(node, "roofline_fraction"),
    node_load_s: n(node, "load_s"),
    node_peak_rss_mib: n(node, "peak_rss_mib"),
    browser_decode_tok_s: n(browser, "decode_tok_s"),
    browser_prefill_tok_s: n(browser, "prefill_tok_s"),
    browser_build: browser?.build ?? null,
    browser: browser?.browser ?? null,
    browser_gb_s: n(browser, "decode_gb_s"),
    browser_bandwidth_gb_s: n(browser, "bandwidth_gb_s"),
    roofline_fraction: n(browser, "roofline_fraction") ?? n(node, "roofline_fraction"),
    browser_int8_decode_tok_s: n(browserInt8, "decode_tok_s"),
    browser_int8_prefill_tok_s: n(browserInt8, "prefill_tok_s"),
    browser_int8_roofline_fraction: n(browserInt8, "roofline_fraction"),
    native_decode_tok_s: n(native, "decode_tok_s"),
    native_prefill_tok_s: n(native, "prefill_tok_s"),
    browser_vs_native_decode: ratio(n(browser, "decode_tok_s"), n(native, "decode_tok_s")),
    browser_vs_native_prefill: ratio(n(browser, "prefill_tok_s"), n(native, "prefill_tok_s")),
    node_vs_native_decode: ratio(n(node, "decode_tok_s"), n(native, "decode_tok_s")),
    bytes_per_token: n(browser, "bytes_per_token") ?? n(node, "bytes_per_token"),
    same_tokens_node_browser:
      node && browser ? JSON.stringify(node.tokens) === JSON.stringify(browser.tokens) : null,
    browser_int8_vs_native_decode: ratio(n(browserInt8, "decode_tok_s"), n(native, "decode_tok_s")),
    runs: { node, browser, browserInt8, native },
    /** Each browser's figures (chromium is `browser` above), side by side. */
    browsers: Object.fromEntries(
      o.browsers.map((b) => [b, b === "chromium" ? browser : result(b)] as const),
    ),
  };
  if (o.json) {
    console.log(JSON.stringify(summary));
    return;
  }
  const f = (v: number | null, d = 1) => (v === null ? "—" : v.toFixed(d));
  const row = (name: string, r: Record<string, unknown> | undefined) =>
    `${name.padEnd(60)} ${f(n(r, "prefill_tok_s")).padStart(9)} ${f(n(r, "decode_tok_s")).padStart(9)} ${f(n(r, "decode_gb_s")).padStart(7)} ${f(n(r, "bandwidth_gb_s")).padStart(9)} ${(n(r, "roofline_fraction") === null ? "—" : `${(100 * (n(r, "roofline_fraction") as number)).toFixed(0)}%`).padStart(8)}`;
  console.log(
    `${basename(model)}, ${o.threads} threads, ${o.prompt}-token prompt, ${o.gen} decoded tokens, head ${summary.head}; medians of ${o.repeat} runs`,
  );
  console.log(
    `${"".padEnd(60)} ${"prefill/s".padStart(9)} ${"decode/s".padStart(9)} ${"GB/s".padStart(7)} ${"read GB/s".padStart(9)} ${"roofline".padStart(8)}`,
  );
  if (node) console.log(row(`Trit, Node (${node.build})`, node));
  for (const b of o.browsers) {
    const r = b === "chromium" ? browser : result(b);
    if (r) {
      const threads = `${r.active_threads ?? "?"}/${r.threads} threads`;
      console.log(row(`Trit, ${r.browser} (${r.build}, ${threads})`, r));
    }
  }
  if (browserInt8) console.log(row("Trit, Chromium, int8 head", browserInt8));
  if (native) console.log(row("llama.cpp native (TQ2_0)", native));
  console.log(
    `browser / native: decode ${f(summary.browser_vs_native_decode, 2)}× (int8 head ${f(summary.browser_int8_vs_native_decode, 2)}×), prefill ${f(summary.browser_vs_native_prefill, 2)}×` +
      (summary.same_tokens_node_browser === null
        ? ""
        : `; Node and Chromium decoded ${summary.same_tokens_node_browser ? "the same" : "DIFFERENT"} greedy tokens`),
  );
  if (node) {
    console.log(
      `Node: loaded in ${f(summary.node_load_s)} s, peak RSS ${f(summary.node_peak_rss_mib, 0)} MiB (the file: ${f(statSync(model).size / 2 ** 20, 0)} MiB)`,
    );
  }
  console.log(
    "Decode tok/s = 1 / median step time of a run; each figure is the median of the runs. The CPU is shared: expect noise.",
  );
  for (const [name, r] of [
    ["Trit, Node", node],
    ["Trit, Chromium", browser],
    ["Trit, Chromium, int8 head", browserInt8],
    ["llama.cpp", native],
    ...o.browsers
      .filter((b) => b !== "chromium")
      .map((b) => [`Trit, ${BROWSER_NAMES[b]}`, result(b)] as const),
  ] as const) {
    if (Array.isArray(r?.decode_tok_s_all)) {
      const all = (r.decode_tok_s_all as number[]).map((v) => v.toFixed(1)).join(", ");
      console.log(`  ${name}: decode tok/s per run ${all}`);
    }
  }
}

try {
  main();
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
