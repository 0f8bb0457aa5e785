// Trit's engine in headless Chromium: builds the benchmark page (scripts/bench/browser/)
// with Vite, serves it with cross-origin isolation headers next to the model, and drives
// Debian's chromium with playwright-core. Prints one JSON line (BenchResult).
// npx tsx scripts/bench/browser.ts MODEL THREADS PROMPT GEN [int8]
// npx tsx scripts/bench/browser.ts --kernels   (single-kernel micro-benchmarks, both builds)
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { build } from "vite";

const kernelsOnly = process.argv[2] === "--kernels";
const [modelPath, threads = "2", prompt = "64", gen = "32", head = ""] = kernelsOnly
  ? ["-"]
  : process.argv.slice(2);
if (!modelPath) {
  console.error("usage: browser.ts MODEL THREADS PROMPT GEN [int8]");
  process.exit(2);
}
const root = fileURLToPath(new URL("./browser/", import.meta.url));
const outDir = join(tmpdir(), "trit-bench-page");
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
    url.pathname === "/model.gguf"
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
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
  });
  createReadStream(file).pipe(res);
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const address = server.address();
const port = typeof address === "object" && address ? address.port : 0;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = await browser.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().includes("404")) console.error(`[page] ${m.text()}`);
  });
  await page.goto(
    `http://127.0.0.1:${port}/?threads=${threads}&prompt=${prompt}&gen=${gen}&head=${head}${kernelsOnly ? "&kernels" : ""}`,
  );
  await page.waitForFunction(() => (window as { __bench?: unknown }).__bench, undefined, {
    timeout: 900_000,
    polling: 500,
  });
  const result = await page.evaluate(() => (window as { __bench?: unknown }).__bench);
  const version = browser.version();
  console.log(JSON.stringify({ ...(result as object), browser: `Chromium ${version}` }));
} finally {
  await browser.close();
  server.close();
}
process.exit(0);
