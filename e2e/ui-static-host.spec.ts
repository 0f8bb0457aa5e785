import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { expect, test } from "@playwright/test";

// A static host that sends no COOP/COEP headers at all (like GitHub Pages): the service
// worker must add them, so after one automatic reload the page is cross-origin isolated.

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".wasm": "application/wasm",
  ".webmanifest": "application/manifest+json",
};

let server: Server;
let origin = "";
/** Headers this host adds to every response (none: a plain static host). */
let hostHeaders: Record<string, string> = {};
/** The page loads (GET /) the host served. */
let pageLoads = 0;

test.beforeEach(async () => {
  const root = join(process.cwd(), "dist");
  hostHeaders = {};
  pageLoads = 0;
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    if (path === "/") pageLoads++;
    let file = join(root, path);
    if (!file.startsWith(root) || !existsSync(file) || statSync(file).isDirectory())
      file = join(root, "index.html");
    res.writeHead(200, {
      ...hostHeaders,
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
    });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test("on a host without COOP/COEP the service worker makes the page isolated", async ({ page }) => {
  const first = await page.goto(`${origin}/`);
  expect(first?.headers()["cross-origin-embedder-policy"]).toBeUndefined();
  // The worker installs, takes control, and the page reloads itself once.
  await expect
    .poll(() => page.evaluate(() => window.crossOriginIsolated).catch(() => false), {
      timeout: 20_000,
    })
    .toBe(true);
  await expect(page.getByTestId("page-isolated")).toHaveText("yes");
  await expect(page.getByTestId("engine-status")).toHaveText("ready");
  await expect(page.getByTestId("cap-sab")).toHaveText("yes");
  await expect(page.getByTestId("stats-threads")).not.toContainText("single-threaded");
});

test("once visited, the app opens and its engine starts with the server gone", async ({ page }) => {
  await page.goto(`${origin}/`);
  await expect
    .poll(() => page.evaluate(() => window.crossOriginIsolated).catch(() => false), {
      timeout: 20_000,
    })
    .toBe(true);
  await expect(page.getByTestId("engine-status")).toHaveText("ready");
  // Really offline: the server stops, so nothing can come from the network.
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  const unreachable = await page.evaluate(async (url) => {
    try {
      await fetch(url, { cache: "no-store" });
      return false;
    } catch {
      return true;
    }
  }, `${origin}/not-cached`);
  expect(unreachable).toBe(true);

  await page.reload();
  await expect(page.getByRole("heading", { name: "Trit" })).toBeVisible();
  await expect(page.getByRole("textbox", { name: "Message" })).toBeVisible();
  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);
  await expect(page.getByTestId("engine-status")).toHaveText("ready");
  await expect(page.getByTestId("cap-sab")).toHaveText("yes");
});

test("where the service worker's headers cannot isolate the page, only the first tab reloads for them", async ({
  context,
}) => {
  // A host that says "no embedder policy" outright: the service worker keeps a policy the
  // host set, so the page is never isolated and a reload for isolation never helps.
  hostHeaders = { "Cross-Origin-Embedder-Policy": "unsafe-none" };
  const first = await context.newPage();
  await first.goto(`${origin}/`);
  // The worker takes control, the tab reloads once, and the app learns that did not help.
  await expect.poll(() => pageLoads, { timeout: 20_000 }).toBe(2);
  await expect(first.getByTestId("engine-status")).toHaveText("ready");
  expect(await first.evaluate(() => window.crossOriginIsolated)).toBe(false);
  await expect(first.getByTestId("stats-threads")).toHaveText(
    "1 (single-threaded: page not cross-origin isolated)",
  );
  // New tabs (their own sessionStorage) open controlled and do not reload again.
  for (const n of [3, 4]) {
    const tab = await context.newPage();
    await tab.goto(`${origin}/`);
    expect(await tab.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    await expect(tab.getByTestId("engine-status")).toHaveText("ready");
    await tab.waitForTimeout(1000);
    expect(pageLoads).toBe(n);
  }
  await first.reload();
  await expect(first.getByTestId("engine-status")).toHaveText("ready");
  await first.waitForTimeout(1000);
  expect(pageLoads).toBe(5);
});

test.describe("without a service worker", () => {
  test.use({ serviceWorkers: "block" });

  test("the app still runs, single-threaded, and says so", async ({ page }) => {
    await page.goto(`${origin}/`);
    await expect(page.getByTestId("engine-status")).toHaveText("ready");
    expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(false);
    await expect(page.getByTestId("page-isolated")).toHaveText("no");
    await expect(page.getByTestId("stats-threads")).toHaveText(
      "1 (single-threaded: page not cross-origin isolated)",
    );
    await expect(page.getByRole("textbox", { name: "Message" })).toBeVisible();
  });
});
