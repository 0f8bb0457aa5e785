// Builds the benchmark page (scripts/bench/browser/) with Vite, serves it with
// cross-origin isolation headers (and an optional model file at /model.gguf), opens it in
// Debian's chromium through playwright-core, or in Firefox ESR or WebKitGTK through
// e2e/support/engines.ts, and returns what the page publishes as window.__bench. Used by
// the benchmark and by the kernels' Chromium test.
// TRIT_JS_FLAGS passes V8 flags to Chromium, e.g. TRIT_JS_FLAGS=--liftoff-only to run the
// kernels in V8's baseline tier only (engines can compute relaxed SIMD differently there).
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { build } from "vite";
import { type EngineName, hasEngine, launchEngine } from "../../e2e/support/engines.ts";
import { ISOLATION_HEADERS } from "../../src/ui/pwa/isolationHeaders.ts";

export type BenchBrowser = "chromium" | EngineName;
export const BENCH_BROWSERS: BenchBrowser[] = ["chromium", "firefox", "webkit"];

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function hasChromium(): boolean {
  return existsSync(chromiumPath);
}

export function hasBrowser(name: BenchBrowser): boolean {
  return name === "chromium" ? hasChromium() : hasEngine(name);
}

export async function runBenchPage(
  query: string,
  modelPath?: string,
  timeoutMs = 3_600_000, // a long-context run on a loaded 2-core machine takes tens of minutes
  browserName: BenchBrowser = "chromium",
): Promise<Record<string, unknown>> {
  const root = fileURLToPath(new URL("./browser", import.meta.url));
  const outDir = join(tmpdir(), `trit-bench-page-${process.pid}`);
  await build({
    root,
    base: "./",
    configFile: false,
    logLevel: "error",
    worker: { format: "es" },
    build: { outDir, emptyOutDir: true, target: "es2022" },
  });
  const types: Record<string, string> = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".wasm": "application/wasm",
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const file =
      url.pathname === "/model.gguf" && modelPath
        ? modelPath
        : join(outDir, normalize(url.pathname === "/" ? "/index.html" : url.pathname));
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "Content-Type": types[extname(file)] ?? "application/octet-stream",
      "Content-Length": size,
      ...ISOLATION_HEADERS,
    });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}/?${query}`;
  if (browserName !== "chromium") {
    try {
      return await runInEngine(browserName, url, timeoutMs);
    } finally {
      server.close();
    }
  }
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      ...(process.env.TRIT_JS_FLAGS ? [`--js-flags=${process.env.TRIT_JS_FLAGS}`] : []),
    ],
  });
  try {
    const page = await browser.newPage();
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().includes("404")) console.error(`[page] ${m.text()}`);
    });
    await page.goto(url);
    await page.waitForFunction(() => (window as { __bench?: unknown }).__bench, undefined, {
      timeout: timeoutMs,
      polling: 200,
    });
    const result = (await page.evaluate(() => (window as { __bench?: unknown }).__bench)) as Record<
      string,
      unknown
    >;
    return { ...result, browser: `Chromium ${browser.version()}` };
  } finally {
    await browser.close();
    server.close();
  }
}

/** The same page in Firefox or WebKit (SharedArrayBuffer on, as Safari ships it). */
async function runInEngine(
  name: EngineName,
  url: string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const browser = await launchEngine(name);
  try {
    const tab = await browser.newTab();
    await tab.goto(url);
    const until = Date.now() + timeoutMs;
    let nextReport = Date.now() + 60_000;
    for (;;) {
      const { result, stage } = await tab.evaluate(() => {
        const w = window as {
          __bench?: Record<string, unknown>;
          __benchStage?: { stage: string; at: number };
        };
        return { result: w.__bench ?? null, stage: w.__benchStage ?? null };
      }, null);
      if (result) return { ...result, browser: browser.version };
      const where = stage
        ? `${stage.stage}, last heard ${Math.round((Date.now() - stage.at) / 1000)} s ago`
        : "the page never ran";
      if (Date.now() > until) {
        throw new Error(`${browser.version}: no result in ${timeoutMs} ms (at: ${where})`);
      }
      if (Date.now() > nextReport) {
        // a long wait is either a long run or a hang: say which stage it is in
        console.error(`[${name}] still waiting: ${where}`);
        nextReport = Date.now() + 60_000;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await browser.close();
  }
}
