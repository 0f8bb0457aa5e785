/**
 * `npm run bench`: decode and prefill speed of Trit's engine on the generator's
 * 2B4T-shaped model (the published I2_S format), in Node and in headless Chromium (the real
 * Worker path), beside native llama.cpp (node-llama-cpp's prebuilt CPU binary, which cannot
 * read I2_S: the TQ2_0 file of the same weights) with the same threads, prompts and token
 * counts: a short prompt, then a long one (the first --long-prompt tokens of a --context
 * prompt timed as one prefill) and decoding after --context positions. Each engine runs in
 * its own child process, round robin. The machine is shared: figures are medians.
 * Then the cached start through the real app (scripts/bench/cached-start.ts): reload to
 * first streamed token with the model already in IndexedDB, and the renderer's peak RSS.
 *
 *   npm run bench [-- --json] [--model PATH] [--native-model PATH] [--threads N]
 *                 [--prompt N] [--gen N] [--context N] [--long-prompt N] [--long-gen N]
 *                 [--int8-head] [--kv bf16|f32] [--repeat N] [--reloads N] [--log FILE]
 *                 [--skip-node] [--skip-browser] [--skip-native] [--skip-int8]
 *                 [--skip-tq2] [--skip-kv] [--skip-long] [--skip-cached]
 *                 [--browser chromium|firefox|webkit]   (repeatable or comma-separated; the
 *                 browsers to run the page in, side by side; default chromium. Firefox ESR and
 *                 WebKitGTK as scripts/ensure-browsers.sh installs them; WebKit with
 *                 SharedArrayBuffer on, as Safari ships it)
 *
 * The exact f16 head is the default; a second Chromium run uses the optional int8 head
 * and prints its quality against the exact head (--skip-int8 leaves it out; --int8-head
 * makes int8 the head of every Trit run). --skip-tq2 leaves out Trit on the TQ2_0 file;
 * the headline Chromium runs use the app's exact f32 KV cache (--kv bf16: the bf16 cache), and
 * a run with the other format gives the bf16 cache's speed and quality (--skip-kv leaves it out).
 * --log FILE appends each child's figures as they come (JSON lines).
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, statSync } from "node:fs";
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
  nativeModel: string | null;
  context: number;
  longPrompt: number;
  longGen: number;
  reloads: number;
  kv: "f32" | "bf16";
  log: string | null;
}

function parseArgs(args: string[]): Options {
  const o: Options = {
    json: false,
    model: "models/bench-2b4t-i2_s.gguf",
    nativeModel: null,
    context: 2048,
    longPrompt: 1024,
    longGen: 16,
    reloads: 3,
    kv: "f32",
    log: null,
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
    else if (a === "--native-model") o.nativeModel = value();
    else if (a === "--context") o.context = Number(value());
    else if (a === "--long-prompt") o.longPrompt = Number(value());
    else if (a === "--long-gen") o.longGen = Number(value());
    else if (a === "--reloads") o.reloads = Number(value());
    else if (a === "--log") o.log = value();
    else if (a === "--kv") {
      const v = value();
      if (v !== "f32" && v !== "bf16") throw new Error("--kv must be f32 or bf16");
      o.kv = v;
    } else if (a === "--threads") o.threads = Number(value());
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
    ["--context", o.context],
    ["--long-prompt", o.longPrompt],
    ["--long-gen", o.longGen],
    ["--reloads", o.reloads],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a whole number ≥ 1`);
  }
  if (o.browsers.length === 0) o.browsers = ["chromium"];
  if (o.longPrompt >= o.context) throw new Error("--long-prompt must be below --context");
  return o;
}

const BROWSER_NAMES: Record<BenchBrowser, string> = {
  chromium: "Chromium",
  firefox: "Firefox",
  webkit: "WebKit",
};

/** Runs a child that prints one JSON line last; returns it parsed. */
function runChild(label: string, command: string, args: string[]): Record<string, unknown> {
  const r = spawnSync(command, args, { encoding: "utf8", maxBuffer: 1 << 26, timeout: 3_600_000 });
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
  // nested figures (quality, per-op profiles): medians key by key
  for (const [key, value] of Object.entries(runs[0])) {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const inner = medians(runs.map((r) => r[key] as Record<string, unknown>));
      delete inner.runs;
      out[key] = inner;
    }
  }
  return out;
}

/**
 * Top-1 agreement and perplexity change of `approx` against `exact` over the long-context
 * steps both ran on the same token stream (run-trit.ts: long_top1, long_nll).
 */
function streamQuality(
  exact: Record<string, unknown> | undefined,
  approx: Record<string, unknown> | undefined,
): Record<string, number> | null {
  const e = exact?.long_nll as number[] | undefined;
  const a = approx?.long_nll as number[] | undefined;
  const et = exact?.long_top1 as number[] | undefined;
  const at = approx?.long_top1 as number[] | undefined;
  if (!e || !a || !et || !at || e.length !== a.length || e.length === 0) return null;
  const ppl = (v: number[]) => Math.exp(v.reduce((x, y) => x + y, 0) / v.length);
  return {
    positions: e.length,
    top1_agreement: et.filter((t, i) => t === at[i]).length / et.length,
    ppl_exact: ppl(e),
    ppl_approx: ppl(a),
    ppl_change_pct: 100 * (ppl(a) / ppl(e) - 1),
  };
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const model = resolve(o.model);
  const tq2Model = resolve(o.nativeModel ?? o.model.replace(/i2_s\.gguf$/, "tq2_0.gguf"));
  for (const file of new Set([model, tq2Model])) {
    if (!existsSync(file)) {
      throw new Error(
        `The benchmark model ${file} does not exist: run \`npm run models -- --bench --formats i2_s,tq2_0\` first.`,
      );
    }
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
  const shape = [String(o.threads), String(o.prompt), String(o.gen)];
  const head = o.int8Head ? "int8" : "";
  // the headline runs use the app's KV cache (f32); the other format runs beside it
  const kvFlag = o.kv === "bf16" ? "kv-bf16" : "";
  const otherKv = o.kv === "bf16" ? "f32" : "bf16";
  const long = o.skip.has("long")
    ? ["0", "0", "0"]
    : [String(o.context), String(o.longPrompt), String(o.longGen)];
  const flags = (...f: string[]) => f.filter(Boolean).join(",");
  const common = [model, ...shape, flags(head, kvFlag), ...long];
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
        args: [
          ...tsx,
          "scripts/bench/browser.ts",
          model,
          ...shape,
          flags("int8", "quality", kvFlag),
          // the head does not depend on the context: the short run is enough
          "0",
          "0",
          "0",
        ],
      });
    }
    if (!o.skip.has("kv")) {
      engines.push({
        key: "browserKvOther",
        label: `Trit in Chromium, ${otherKv} KV cache`,
        args: [
          ...tsx,
          "scripts/bench/browser.ts",
          model,
          ...shape,
          flags(head, otherKv === "bf16" ? "kv-bf16" : ""),
          ...long,
        ],
      });
    }
    if (!o.skip.has("tq2") && tq2Model !== model) {
      engines.push({
        key: "browserTq2",
        label: "Trit in Chromium, TQ2_0 file",
        args: [...tsx, "scripts/bench/browser.ts", tq2Model, ...shape, flags(head, kvFlag)],
      });
    }
  }
  if (!o.skip.has("native")) {
    engines.push({
      key: "native",
      label: "llama.cpp (node-llama-cpp)",
      args: [...tsx, "scripts/bench/native.ts", tq2Model, ...shape, ...long],
    });
  }
  // round robin, so that a burst of load on the machine hits every engine alike
  const runs = new Map<string, Record<string, unknown>[]>(engines.map((e) => [e.key, []]));
  for (let i = 0; i < o.repeat; i++) {
    for (const e of engines) {
      if (!o.json) process.stderr.write(`running ${e.label} (${i + 1}/${o.repeat})…\n`);
      const r = runChild(e.label, process.execPath, e.args);
      if (o.log) appendFileSync(o.log, `${JSON.stringify({ engine: e.key, round: i, ...r })}\n`);
      runs.get(e.key)?.push(r);
    }
  }
  const result = (key: string) => {
    const r = runs.get(key);
    return r && r.length > 0 ? medians(r) : undefined;
  };
  const node = result("node");
  const browser = result("browser");
  const browserInt8 = result("browserInt8");
  const browserTq2 = result("browserTq2");
  const browserKvOther = result("browserKvOther");
  const [kvF32, kvBf16] = o.kv === "bf16" ? [browserKvOther, browser] : [browser, browserKvOther];
  const native = result("native");
  let cached: Record<string, unknown> | undefined;
  if (!o.skip.has("cached") && !o.skip.has("browser")) {
    if (!o.json) process.stderr.write("running the cached start in the app…\n");
    cached = runChild("the cached start", process.execPath, [
      ...tsx,
      "scripts/bench/cached-start.ts",
      model,
      String(o.reloads),
    ]);
    if (o.log) appendFileSync(o.log, `${JSON.stringify({ engine: "cached", ...cached })}\n`);
  }

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
    context_positions: o.skip.has("long") ? null : o.context,
    long_prompt_tokens: o.skip.has("long") ? null : o.longPrompt,
    decode_tok_s_ctx2048: n(browser, "decode_tok_s_long"),
    native_decode_tok_s_ctx2048: n(native, "decode_tok_s_long"),
    prefill_tok_s_1024: n(browser, "prefill_tok_s_long"),
    native_prefill_tok_s_1024: n(native, "prefill_tok_s_long"),
    browser_vs_native_decode_ctx2048: ratio(
      n(browser, "decode_tok_s_long"),
      n(native, "decode_tok_s_long"),
    ),
    browser_vs_native_prefill_1024: ratio(
      n(browser, "prefill_tok_s_long"),
      n(native, "prefill_tok_s_long"),
    ),
    browser_int8_decode_tok_s_ctx2048: n(browserInt8, "decode_tok_s_long"),
    browser_tq2_decode_tok_s: n(browserTq2, "decode_tok_s"),
    browser_tq2_prefill_tok_s: n(browserTq2, "prefill_tok_s"),
    int8_head_quality: (browserInt8?.quality ?? null) as Record<string, number> | null,
    kv_cache: o.kv,
    browser_kv_f32_decode_tok_s: n(kvF32, "decode_tok_s"),
    browser_kv_f32_decode_tok_s_ctx2048: n(kvF32, "decode_tok_s_long"),
    browser_kv_f32_prefill_tok_s_1024: n(kvF32, "prefill_tok_s_long"),
    browser_kv_bf16_decode_tok_s: n(kvBf16, "decode_tok_s"),
    browser_kv_bf16_decode_tok_s_ctx2048: n(kvBf16, "decode_tok_s_long"),
    browser_kv_bf16_prefill_tok_s_1024: n(kvBf16, "prefill_tok_s_long"),
    kv_bf16_quality: streamQuality(kvF32, kvBf16),
    cached_first_token_s: n(cached, "cached_first_token_s"),
    cached_loaded_s: n(cached, "cached_loaded_s"),
    cached_first_token_cpu_s: n(cached, "cached_first_token_cpu_s"),
    renderer_peak_mib: n(cached, "renderer_peak_mib"),
    renderer_peak_new_tab_mib: n(cached, "renderer_peak_new_tab_mib"),
    renderer_peak_download_mib: n(cached, "renderer_peak_download_mib"),
    /** Each browser's figures (chromium is `browser` above), side by side. */
    browsers: Object.fromEntries(
      o.browsers.map((b) => [b, b === "chromium" ? browser : result(b)] as const),
    ),
    runs: { node, browser, browserInt8, browserTq2, browserKvOther, native, cached },
  };
  if (o.json) {
    console.log(JSON.stringify(summary));
    return;
  }
  const f = (v: number | null, d = 1) => (v === null ? "—" : v.toFixed(d));
  const pct = (v: number | null) => (v === null ? "—" : `${(100 * v).toFixed(0)}%`);
  const row = (name: string, r: Record<string, unknown> | undefined) =>
    `${name.padEnd(40)} ${f(n(r, "prefill_tok_s")).padStart(9)} ${f(n(r, "decode_tok_s")).padStart(9)} ${f(n(r, "prefill_tok_s_long")).padStart(10)} ${f(n(r, "decode_tok_s_long")).padStart(10)} ${f(n(r, "decode_gb_s")).padStart(6)} ${f(n(r, "bandwidth_gb_s")).padStart(9)} ${pct(n(r, "roofline_fraction")).padStart(8)}`;
  console.log(
    `${basename(model)}, ${o.threads} threads; short: ${o.prompt}-token prompt, ${o.gen} decoded tokens; long: ${o.longPrompt}-token prefill, decode after ${o.context} positions; head ${summary.head}; medians of ${o.repeat} runs`,
  );
  console.log(
    `${"".padEnd(40)} ${`prefill ${o.prompt}`.padStart(9)} ${"decode".padStart(9)} ${`prefill ${o.longPrompt}`.padStart(10)} ${`dec @${o.context}`.padStart(10)} ${"GB/s".padStart(6)} ${"read GB/s".padStart(9)} ${"roofline".padStart(8)}`,
  );
  if (node) console.log(row(`Trit, Node (${node.build}, I2_S)`, node));
  if (browser) {
    console.log(row(`Trit, ${browser.browser} (${browser.build}, I2_S, ${o.kv} KV)`, browser));
  }
  for (const b of o.browsers.filter((b) => b !== "chromium")) {
    const r = result(b);
    if (r) {
      const threads = `${r.active_threads ?? "?"}/${r.threads} threads`;
      console.log(row(`Trit, ${r.browser} (${r.build}, ${threads})`, r));
    }
  }
  if (browserInt8) console.log(row("Trit, Chromium, int8 head (I2_S)", browserInt8));
  if (browserKvOther)
    console.log(row(`Trit, Chromium, ${otherKv} KV cache (I2_S)`, browserKvOther));
  if (browserTq2) console.log(row("Trit, Chromium, TQ2_0 file", browserTq2));
  if (native) console.log(row("llama.cpp native (TQ2_0)", native));
  console.log(
    `browser / native: decode ${f(summary.browser_vs_native_decode, 2)}× (int8 head ${f(summary.browser_int8_vs_native_decode, 2)}×), prefill ${f(summary.browser_vs_native_prefill, 2)}×; ` +
      `at ${o.context} positions decode ${f(summary.browser_vs_native_decode_ctx2048, 2)}×, prefill of ${o.longPrompt} ${f(summary.browser_vs_native_prefill_1024, 2)}×` +
      (summary.same_tokens_node_browser === null
        ? ""
        : `; Node and Chromium decoded ${summary.same_tokens_node_browser ? "the same" : "DIFFERENT"} greedy tokens`),
  );
  const q = summary.int8_head_quality;
  if (q) {
    console.log(
      `int8 head vs exact head over ${q.positions} positions of the bench prompt: top-1 agreement ${pct(q.top1_agreement)}, perplexity ${f(q.ppl_exact, 2)} → ${f(q.ppl_int8, 2)} (${q.ppl_change_pct >= 0 ? "+" : ""}${f(q.ppl_change_pct, 3)}%; random weights; on the trained demo model: npm run perplexity -- … --compare, see scripts/demo-model/README.md)`,
    );
  }
  const kq = summary.kv_bf16_quality;
  if (kq) {
    console.log(
      `bf16 KV vs f32 KV over ${kq.positions} positions after ${o.context} of context: top-1 agreement ${pct(kq.top1_agreement)}, perplexity ${f(kq.ppl_exact, 2)} → ${f(kq.ppl_approx, 2)} (${kq.ppl_change_pct >= 0 ? "+" : ""}${f(kq.ppl_change_pct, 3)}%)`,
    );
  }
  if (browser?.profile_decode_ms) {
    const columns = [
      ["decode", "profile_decode_ms"],
      [`decode @${o.context}`, "profile_decode_long_ms"],
      [`prefill ${o.longPrompt}`, "profile_prefill_long_ms"],
    ] as const;
    const profiles = columns.map(([, k]) => (browser[k] ?? {}) as Record<string, number>);
    const ops = [...new Set(profiles.flatMap((p) => Object.keys(p)))];
    console.log(
      `Trit in Chromium, ms per token by op: ${"".padEnd(10)}${columns.map(([name]) => name.padStart(14)).join("")}`,
    );
    for (const op of [...ops, "total"]) {
      const cell = (p: Record<string, number>) => {
        const v = op === "total" ? Object.values(p).reduce((a, b) => a + b, 0) : p[op];
        return (v === undefined ? "—" : v.toFixed(2)).padStart(14);
      };
      console.log(`  ${op.padEnd(46)}${profiles.map(cell).join("")}`);
    }
  }
  if (cached) {
    console.log(
      `cached start in the app (${o.reloads} reloads, model in IndexedDB, weights' image in the private file system): first token ${f(summary.cached_first_token_s, 2)} s after reload (loaded at ${f(summary.cached_loaded_s, 2)} s; the browser's processes used ${f(summary.cached_first_token_cpu_s, 2)} CPU s meanwhile); renderer peak RSS ${f(summary.renderer_peak_mib, 0)} MiB across reloads (the old page's memory is freed a few seconds into the new one), ${f(summary.renderer_peak_new_tab_mib, 0)} MiB in a new tab (${f(summary.renderer_peak_download_mib, 0)} MiB during download and first load)`,
    );
  }
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
    ["Trit, Chromium, TQ2_0", browserTq2],
    [`Trit, Chromium, ${otherKv} KV`, browserKvOther],
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
