// Cached start through the real app: the production build (vite build, served by vite
// preview with its COOP/COEP headers) in Debian's chromium with an on-disk profile. The
// model is added once by URL (the model manager downloads it into IndexedDB and loads
// it); then the page is reloaded RELOADS times, and each time the clock runs from the
// reload to the first streamed token of a reply (the app restores the last model by
// itself). The renderer processes' resident memory (/proc VmRSS) is sampled all along, and
// the sum over all of the browser's processes (a Blob built in memory lives in the browser
// process, not the renderer).
// Prints one JSON line.
//   npx tsx scripts/bench/cached-start.ts MODEL [RELOADS]
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { build, preview } from "vite";
import { startRangeServer } from "../../src/storage/testing/range-server.ts";
import { chromiumPath } from "./browser-page.ts";
import { median } from "./run-trit.ts";

const [modelPath, reloadsArg = "3"] = process.argv.slice(2);
if (!modelPath) {
  console.error("usage: cached-start.ts MODEL [RELOADS]");
  process.exit(2);
}
const reloads = Number(reloadsArg);

/** Pids of processes whose parent chain reaches `root`, with their command lines. */
async function descendants(root: number): Promise<{ pid: number; cmd: string }[]> {
  const parent = new Map<number, number>();
  const cmds = new Map<number, string>();
  for (const entry of await readdir("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      cmds.set(pid, (await readFile(`/proc/${pid}/cmdline`, "utf8")).replaceAll("\0", " "));
    } catch {
      // the process ended meanwhile
    }
  }
  const out: { pid: number; cmd: string }[] = [];
  for (const [pid, cmd] of cmds) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        out.push({ pid, cmd });
        break;
      }
    }
  }
  return out;
}

function rssMib(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds (user + system) the browser's processes have used so far: beside the wall
 * clock, what a reload costs when other processes share the cores (on an idle machine the
 * wall clock is at least this over the cores that run it).
 */
async function browserCpuSeconds(browserPid: number): Promise<number> {
  const pids = [browserPid, ...(await descendants(browserPid)).map((p) => p.pid)];
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100; // USER_HZ
}

/** Samples the largest renderer's RSS, and all processes' sum, every 200 ms; `phase` names what is going on. */
class RendererMemory {
  peak = new Map<string, number>();
  phase = "start";
  private timer: ReturnType<typeof setInterval> | undefined;
  private renderers: number[] = [];
  private all: number[] = [];
  totalPeak = new Map<string, number>();
  constructor(private readonly browserPid: number) {}
  /** Finds the renderers again (a new tab may have its own). */
  async refresh() {
    const processes = await descendants(this.browserPid);
    this.renderers = processes.filter((p) => p.cmd.includes("--type=renderer")).map((p) => p.pid);
    this.all = [this.browserPid, ...processes.map((p) => p.pid)];
  }
  async start() {
    await this.refresh();
    let ticks = 0;
    this.timer = setInterval(() => {
      if (++ticks % 10 === 0) void this.refresh();
      const now = Math.max(0, ...this.renderers.map(rssMib));
      this.peak.set(this.phase, Math.max(this.peak.get(this.phase) ?? 0, now));
      const total = this.all.reduce((s, pid) => s + rssMib(pid), 0);
      this.totalPeak.set(this.phase, Math.max(this.totalPeak.get(this.phase) ?? 0, total));
    }, 200);
  }
  /** The largest renderer's RSS now. */
  now(): number {
    return Math.max(0, ...this.renderers.map(rssMib));
  }
  stop() {
    clearInterval(this.timer);
  }
}

async function waitLoaded(page: Page, timeout: number) {
  await page.waitForFunction(
    () =>
      document.querySelector('[data-testid="current-model"]')?.textContent?.startsWith("Loaded: "),
    undefined,
    { timeout, polling: 50 },
  );
}

/** Sends a message and resolves when the reply's first piece is on the page. */
async function firstToken(page: Page): Promise<void> {
  const replies = await page.locator("li.message.assistant").count();
  const composer = page.getByRole("textbox", { name: "Message" });
  await composer.fill("Hello");
  await composer.press("Enter");
  await page.waitForFunction(
    (before) => {
      const all = document.querySelectorAll("li.message.assistant .message-body");
      return all.length > before && (all[all.length - 1].textContent ?? "").length > 0;
    },
    replies,
    { timeout: 120_000, polling: 20 },
  );
}

const work = await mkdtemp(join(tmpdir(), "trit-cached-start-"));
const outDir = join(work, "dist");
const server = await startRangeServer();
server.cors = true;
server.files.set("/bench.gguf", { bytes: readFileSync(modelPath), etag: '"bench-1"' });
await build({ logLevel: "error", build: { outDir, emptyOutDir: true } });
const web = await preview({
  logLevel: "error",
  build: { outDir },
  preview: { host: "127.0.0.1", port: 0 },
});
const appUrl = web.resolvedUrls?.local[0] ?? "";
const context = await chromium.launchPersistentContext(join(work, "profile"), {
  executablePath: chromiumPath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const browserPid = (await descendants(process.pid)).find(
    (p) => p.cmd.includes(work) && !p.cmd.includes("--type="),
  )?.pid;
  if (!browserPid) throw new Error("Could not find the chromium process.");
  const memory = new RendererMemory(browserPid);
  await memory.start();
  const page = context.pages()[0] ?? (await context.newPage());
  // the worker's phase timings (engine.worker.ts logMarks), with the time since the reload
  let reloadedAt = performance.now();
  const imageWritten = page
    .waitForEvent("console", {
      predicate: (m) => m.text().startsWith("trit:image written"),
      timeout: 300_000,
    })
    .then(() => true)
    .catch(() => false);
  page.on("console", (m) => {
    if (m.text().startsWith("trit:")) {
      const at = ((performance.now() - reloadedAt) / 1000).toFixed(2);
      process.stderr.write(`[${at} s] ${m.text()}\n`);
    }
  });
  memory.phase = "download";
  await page.goto(appUrl);
  await page.getByLabel("Add a model by URL").fill(`${server.url}/bench.gguf`);
  await page.locator("form.add-url").getByRole("button", { name: "Add" }).click();
  const t0 = performance.now();
  await waitLoaded(page, 1_800_000);
  const firstLoadSeconds = (performance.now() - t0) / 1000;
  await firstToken(page);
  // the worker writes the weights' kernel-layout image after the first load (where the
  // private file system works): let it finish, as a user's first chat would
  if (!(await imageWritten)) process.stderr.write("no weight image was written\n");
  const firstToken_s: number[] = [];
  const loaded_s: number[] = [];
  const cpu_s: number[] = [];
  memory.phase = "cached";
  for (let i = 0; i < reloads; i++) {
    const cpu0 = await browserCpuSeconds(browserPid);
    const t = performance.now();
    reloadedAt = t;
    await page.reload();
    await waitLoaded(page, 300_000);
    loaded_s.push((performance.now() - t) / 1000);
    await firstToken(page);
    firstToken_s.push((performance.now() - t) / 1000);
    cpu_s.push((await browserCpuSeconds(browserPid)) - cpu0);
  }
  const atFirstToken = memory.now();
  // what stays once the load's garbage is collected (V8 collects when it likes)
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const settled = memory.now();
  // A reload keeps the renderer process, and Chromium frees the old page's memory (the
  // model) a few seconds into the new page, which may be loading the model by then: the
  // peak above can hold both. A new tab, opened once the old one is closed and its memory
  // gone, has the tab's own peak for a cached start.
  await page.close();
  for (let i = 0; i < 50 && memory.now() > 600; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  memory.phase = "fresh";
  const tab = await context.newPage();
  const freshAt = performance.now();
  await tab.goto(appUrl);
  await memory.refresh();
  await waitLoaded(tab, 300_000);
  await firstToken(tab);
  const freshFirstToken = (performance.now() - freshAt) / 1000;
  await memory.refresh();
  memory.stop();
  console.log(
    JSON.stringify({
      cached_first_token_s: median(firstToken_s),
      cached_first_token_s_all: firstToken_s,
      cached_loaded_s: median(loaded_s),
      cached_first_token_cpu_s: median(cpu_s),
      load_average: loadavg()[0],
      download_and_load_s: firstLoadSeconds,
      renderer_peak_mib: memory.peak.get("cached") ?? null,
      renderer_peak_download_mib: memory.peak.get("download") ?? null,
      all_processes_peak_cached_mib: memory.totalPeak.get("cached") ?? null,
      all_processes_peak_download_mib: memory.totalPeak.get("download") ?? null,
      renderer_at_first_token_mib: atFirstToken,
      renderer_settled_mib: settled,
      renderer_peak_new_tab_mib: memory.peak.get("fresh") ?? null,
      new_tab_first_token_s: freshFirstToken,
      browser: `Chromium ${context.browser()?.version() ?? ""}`.trim(),
    }),
  );
} finally {
  await context.close();
  await new Promise<void>((resolve) => web.httpServer.close(() => resolve()));
  await server.close();
  await rm(work, { recursive: true, force: true });
}
process.exit(0);
