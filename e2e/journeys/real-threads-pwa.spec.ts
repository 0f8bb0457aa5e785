import { type Browser, expect, type Page, test } from "@playwright/test";
import {
  newGreedyChat,
  openApp,
  promptOf,
  savedConversations,
  sendAndWait,
  shot,
  waitForLoaded,
} from "../support/app.ts";
import { DEMO_MODEL_BUTTON, DEMO_MODEL_PATH, wordsNotInTrainingText } from "../support/files.ts";
import { referenceReply } from "../support/reference.ts";
import { startStaticServer } from "../support/static-server.ts";

/** Opens `url` in a fresh context (no service worker), loads the built-in model, chats greedily. */
async function greedyReplyOn(
  browser: Browser,
  baseURL: string,
  name: string,
): Promise<{ page: Page; reply: string; threads: string; close(): Promise<void> }> {
  const context = await browser.newContext({
    baseURL,
    viewport: { width: 1280, height: 900 },
    serviceWorkers: "block",
  });
  const page = await context.newPage();
  await openApp(page);
  await page.getByRole("button", { name: DEMO_MODEL_BUTTON }).click();
  await waitForLoaded(page);
  await newGreedyChat(page, 32);
  await sendAndWait(page, "Count with me: one, two");
  await shot(page, name);
  const [conversation] = await savedConversations(page);
  return {
    page,
    reply: conversation.messages.at(-1)?.content ?? "",
    threads: (await page.getByTestId("stats-threads").textContent()) ?? "",
    close: () => context.close(),
  };
}

test("threads: the isolated page runs several kernel threads and gives the single-threaded page's greedy tokens", async ({
  browser,
}, testInfo) => {
  const cores = await (async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const n = await page.evaluate(() => navigator.hardwareConcurrency);
    await context.close();
    return n;
  })();
  test.skip(cores < 2, "this machine has one core");

  const isolated = await greedyReplyOn(
    browser,
    String(testInfo.project.use.baseURL),
    "journey-threads-isolated",
  );
  expect(await isolated.page.evaluate(() => window.crossOriginIsolated)).toBe(true);
  // The threads that run are the count timed decode steps found fastest (1..cores), not
  // simply the cores the browser reports.
  expect(Number(isolated.threads)).toBeGreaterThanOrEqual(1);
  expect(Number(isolated.threads)).toBeLessThanOrEqual(cores);
  await expect(isolated.page.getByTestId("stats-kernel")).toHaveText(/SIMD/);

  // The same build from a plain static host (no COOP/COEP, service worker blocked).
  const host = await startStaticServer("dist");
  try {
    const single = await greedyReplyOn(browser, host.url, "journey-threads-single");
    expect(await single.page.evaluate(() => window.crossOriginIsolated)).toBe(false);
    expect(single.threads).toBe("1 (single-threaded: page not cross-origin isolated)");
    expect(single.reply.length).toBeGreaterThan(0);
    expect(isolated.reply).toBe(single.reply);
    // And both are the reference engine's reply.
    const [conversation] = await savedConversations(single.page);
    const expected = await referenceReply(
      DEMO_MODEL_PATH,
      promptOf(conversation),
      conversation.settings,
    );
    expect(single.reply).toBe(expected.text);
    await single.close();
  } finally {
    await host.close();
    await isolated.close();
  }
});

function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

test("PWA: the manifest is valid, its icons are what it says, the service worker controls the page", async ({
  browser,
}, testInfo) => {
  const context = await browser.newContext({ baseURL: testInfo.project.use.baseURL });
  const page = await context.newPage();
  try {
    await openApp(page);
    const href = await page.locator('link[rel="manifest"]').getAttribute("href");
    expect(href).toBeTruthy();
    const manifestUrl = new URL(href ?? "", page.url()).href;
    const response = await page.request.get(manifestUrl);
    expect(response.ok()).toBe(true);
    const manifest = await response.json();
    expect(manifest.name).toMatch(/Trit/);
    expect(manifest.short_name).toBe("Trit");
    expect(manifest.display).toBe("standalone");
    expect(new URL(manifest.start_url, manifestUrl).origin).toBe(new URL(page.url()).origin);
    const pngs = (
      manifest.icons as { src: string; sizes: string; type: string; purpose?: string }[]
    ).filter((i) => i.type === "image/png");
    for (const needed of ["192x192", "512x512"])
      expect(pngs.some((i) => i.sizes === needed)).toBe(true);
    for (const icon of pngs) {
      const image = await page.request.get(new URL(icon.src, manifestUrl).href);
      expect(image.headers()["content-type"]).toContain("image/png");
      const { width, height } = pngSize(await image.body());
      expect(`${width}x${height}`).toBe(icon.sizes);
    }

    // The service worker takes control (after a reload at the latest) and precached the shell.
    await page.evaluate(() => navigator.serviceWorker.ready);
    if (!(await page.evaluate(() => !!navigator.serviceWorker.controller))) await page.reload();
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    expect(scope).toBe(new URL("/", page.url()).href);
    // Chromium's own installability check (the manifest and worker as the browser sees
    // them). Playwright's contexts are off-the-record, which Chromium reports as "in-incognito";
    // any other reason fails.
    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    expect(installabilityErrors.filter((e) => e.errorId !== "in-incognito")).toEqual([]);
    await shot(page, "journey-pwa");
  } finally {
    await context.close();
  }
});

test("first visit, then offline: the built-in demo model comes from the service worker and answers in English, as the reference engine does", async ({
  browser,
}, testInfo) => {
  const context = await browser.newContext({
    baseURL: testInfo.project.use.baseURL,
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  try {
    await openApp(page);
    await page.evaluate(() => navigator.serviceWorker.ready);
    if (!(await page.evaluate(() => !!navigator.serviceWorker.controller))) await page.reload();
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    // Nothing was downloaded by hand: the service worker precached the demo model with the shell.
    await context.setOffline(true);
    const response = await page.reload();
    expect(response?.fromServiceWorker()).toBe(true);
    await expect(page.getByTestId("engine-status")).toHaveText("ready", { timeout: 30_000 });
    await page.getByRole("button", { name: DEMO_MODEL_BUTTON }).click();
    await waitForLoaded(page);
    await newGreedyChat(page, 40);
    await sendAndWait(page, "Tell me a story.");
    await shot(page, "journey-demo-offline");
    const [conversation] = await savedConversations(page);
    const reply = conversation.messages.at(-1)?.content ?? "";
    const expected = await referenceReply(
      DEMO_MODEL_PATH,
      promptOf(conversation),
      conversation.settings,
    );
    expect(reply).toBe(expected.text);
    // English: words, nearly all of them words of the Brown corpus it was trained on.
    const words = reply.match(/[A-Za-z]+/g) ?? [];
    expect(words.length).toBeGreaterThanOrEqual(5);
    expect(wordsNotInTrainingText(reply).length).toBeLessThanOrEqual(words.length / 10);
  } finally {
    await context.setOffline(false);
    await context.close();
  }
});
