import { mkdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { test as base, expect } from "@playwright/test";
import { type RangeServer, startRangeServer } from "../../src/storage/testing/range-server.ts";
import { ISOLATION_HEADERS } from "../../src/ui/pwa/isolationHeaders.ts";
import { NO_HELP_KEY, RELOADED_KEY } from "../../src/ui/pwa/registerServiceWorker.ts";
import { promptOf, readSavedConversations, SCREENSHOTS } from "../support/app.ts";
import {
  type EngineBrowser,
  type EngineName,
  type EngineTab,
  hasEngine,
  launchEngine,
} from "../support/engines.ts";
import { DEMO_MODEL_PATH } from "../support/files.ts";
import { referenceReply } from "../support/reference.ts";
import { startStaticServer } from "../support/static-server.ts";

// The user's journeys in Firefox ESR and WebKitGTK (Safari's engine), one browser per
// engine shared by the journeys in order, as one person would. The app is the production
// build from a server that sends the isolation headers (and can be stopped: offline).

const test = base.extend<{ engine: EngineName }>({
  engine: ["firefox", { option: true }],
});

let browser: EngineBrowser;
let tab: EngineTab;
let app: { url: string; close(): Promise<void> };
let models: RangeServer;
let engineName: EngineName;

// In order, one browser; a failed journey does not skip the ones after it (they report on their own).
test.describe.configure({ mode: "default" });

test.beforeAll(async ({ engine }) => {
  test.skip(!hasEngine(engine), `${engine} is not installed: run scripts/ensure-browsers.sh`);
  engineName = engine;
  app = await startStaticServer("dist", ISOLATION_HEADERS);
  models = await startRangeServer();
  models.cors = true;
  browser = await launchEngine(engine);
  tab = await browser.newTab();
});

test.afterAll(async () => {
  await browser?.close();
  await app?.close();
  await models?.close();
});

// ---- page-side helpers: self-contained functions that run in the page ----

/** Marks the element a person finds by its label (a <label>, aria-label or its own text) with data-e2e, for the driver. */
function markByLabel(a: { label: string; tag: string; mark: string }): boolean {
  for (const old of document.querySelectorAll(`[data-e2e="${a.mark}"]`))
    old.removeAttribute("data-e2e");
  const want = (t: string | null | undefined) =>
    (t ?? "").replace(/\s+/g, " ").trim().startsWith(a.label);
  for (const el of document.querySelectorAll<HTMLElement>(a.tag)) {
    const labels = "labels" in el ? [...((el as HTMLInputElement).labels ?? [])] : [];
    if (
      want(el.getAttribute("aria-label")) ||
      labels.some((l) => want(l.textContent)) ||
      (a.tag === "button" && want(el.textContent))
    ) {
      el.setAttribute("data-e2e", a.mark);
      return true;
    }
  }
  return false;
}

function textOf(testId: string): string | null {
  return document.querySelector(`[data-testid="${testId}"]`)?.textContent ?? null;
}

// ---- the same steps as e2e/support/app.ts, through the engine-neutral tab ----

async function waitForText(testId: string, want: RegExp | string, timeout = 30_000) {
  await expect
    .poll(() => tab.evaluate(textOf, testId), { timeout, intervals: [200] })
    .toMatch(typeof want === "string" ? new RegExp(`^${escapeRegExp(want)}$`) : want);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Waits until a model is loaded. An error the model panel shows instead (an alert, or the
 * built-in model's card with a failed download) fails at once, in the page's words.
 */
async function waitForLoaded(timeout = 90_000) {
  const until = Date.now() + timeout;
  for (;;) {
    const state = await tab.evaluate(() => {
      const alert = document.querySelector('.model-panel [role="alert"]');
      const card = [...document.querySelectorAll(".model-panel li.model-card")].find((c) =>
        c.textContent?.includes("served with this app"),
      );
      const failed = alert ?? card?.querySelector(".error");
      if (failed) return `error: ${failed.textContent}`;
      return document.querySelector('[data-testid="current-model"]')?.textContent ?? "";
    }, null);
    if (state.startsWith("Loaded: ")) return;
    if (state.startsWith("error: ") || Date.now() > until)
      throw new Error(`The model did not load: ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function openApp(url = `${app.url}/`) {
  await tab.goto(url);
  await waitForText("engine-status", "ready");
}

async function byLabel(label: string, tag = "input, textarea, button"): Promise<string> {
  const mark = label.replace(/\W+/g, "-").toLowerCase();
  await expect.poll(() => tab.evaluate(markByLabel, { label, tag, mark })).toBe(true);
  return `[data-e2e="${mark}"]`;
}

async function shot(name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await tab.screenshot(`${SCREENSHOTS}/engines-${engineName}-${name}.png`);
}

async function newGreedyChat(maxTokens: number) {
  await tab.click(await byLabel("New chat", "button"));
  await tab.fill(await byLabel("Temperature", "input"), "0");
  await tab.fill(await byLabel("Max tokens", "input"), String(maxTokens));
  await expect
    .poll(() =>
      tab.evaluate(
        () => document.querySelectorAll('.settings-panel [aria-invalid="true"]').length,
        null,
      ),
    )
    .toBe(0);
}

async function sendAndWait(text: string, timeout = 90_000) {
  const before = (await tab.evaluate(readSavedConversations, null)).length;
  const composer = await byLabel("Message", "textarea");
  await tab.fill(composer, text);
  await tab.pressEnter(composer);
  await expect
    .poll(
      () =>
        tab.evaluate(() => {
          const last = [...document.querySelectorAll("li.message.assistant")].at(-1);
          return last?.getAttribute("aria-busy") ?? "none";
        }, null),
      { timeout, intervals: [250] },
    )
    .toBe("false");
  expect((await tab.evaluate(readSavedConversations, null)).length).toBeGreaterThanOrEqual(before);
}

/** The last saved conversation's last reply, and what the reference engine says to its prompt. */
async function replyAndReference(): Promise<{ reply: string; expected: string }> {
  const [latest] = (await tab.evaluate(readSavedConversations, null)).sort(
    (a, b) => b.updatedAt - a.updatedAt,
  );
  const last = latest.messages.at(-1);
  expect(last?.role).toBe("assistant");
  const expected = await referenceReply(DEMO_MODEL_PATH, promptOf(latest), latest.settings);
  return { reply: last?.content ?? "", expected: expected.text };
}

// ---- the journeys ----

test("first visit: the page is cross-origin isolated and runs kernel threads", async () => {
  await openApp();
  expect(await tab.evaluate(() => window.crossOriginIsolated, null)).toBe(true);
  await waitForText("page-isolated", "yes");
  await waitForText("cap-sab", "yes");
  await waitForText("cap-simd", "yes");
  // Firefox runs relaxed SIMD; WebKit (JavaScriptCore) has none.
  await waitForText("cap-relaxed", engineName === "firefox" ? "yes" : "no");
  const threads = await tab.evaluate(textOf, "stats-threads");
  expect(threads).not.toMatch(/single-threaded/);
  expect(Number(threads)).toBeGreaterThanOrEqual(2);
  await shot("first-visit");
});

test("download and chat with the built-in model: the reference engine's reply", async () => {
  await openApp();
  await newGreedyChat(24);
  await tab.click(await byLabel("Use ", "button"));
  await waitForLoaded();
  // WebKit has no relaxed SIMD: its kernels are the SIMD128 build.
  await waitForText("stats-kernel", engineName === "firefox" ? "relaxed SIMD" : "SIMD128");
  // Threads follow timed decode steps, not the cores the browser reports (WebKit says 4
  // on a 2-core machine, where 4 threads run a 2B model at half the speed of 2). The built-in
  // model's decode step is shorter than the timer's noise, so here the count is only checked
  // to be one the pool started; thread-mode.test.ts checks the choice by timing.
  const threads = Number(await tab.evaluate(textOf, "stats-threads"));
  expect(threads).toBeGreaterThanOrEqual(1);
  expect(threads).toBeLessThanOrEqual(
    Math.max(
      availableParallelism(),
      Number(await tab.evaluate((_: null) => navigator.hardwareConcurrency, null)),
    ),
  );
  // The stored model shows in the storage figures (WebKit with the Storage API on, as
  // Safari ships it, once refused the model up front; with it off it said "0 B free").
  await expect
    .poll(() => tab.evaluate(textOf, "storage"), { timeout: 10_000 })
    .toMatch(
      /^Trit stores [\d.]+ [kMG]B \(models [\d.]+ [kMG]B, .*\. Browser: [\d.]+ [kMG]B used by this site, [\d.]+ [kMGT]?B free/,
    );
  expect(await tab.evaluate(textOf, "storage")).not.toMatch(/\b0 B (used|free)/);
  await sendAndWait("Hello there");
  await shot("chat");
  const { reply, expected } = await replyAndReference();
  expect(reply.length).toBeGreaterThan(0);
  expect(reply).toBe(expected);
});

test("a file that is not a model is refused in words, from another origin (CORS)", async () => {
  models.files.set("/bad/notes.gguf", {
    bytes: new TextEncoder().encode("These are my shopping notes, not a model.\n".repeat(2000)),
  });
  await openApp();
  await tab.fill(await byLabel("Add a model by URL", "input"), `${models.url}/bad/notes.gguf`);
  await tab.click('form.add-url button[type="submit"]');
  await expect
    .poll(
      () =>
        tab.evaluate(
          () => document.querySelector('.model-panel [role="alert"]')?.textContent ?? "",
          null,
        ),
      { timeout: 30_000 },
    )
    .toMatch(/not a GGUF/i);
  // It really was fetched across origins (a CORS fetch, which COEP require-corp allows).
  expect(models.log.some((r) => r.path === "/bad/notes.gguf" && r.method === "GET")).toBe(true);
  await shot("bad-file");
  await tab.click(await byLabel("Dismiss the error", "button"));
});

/** The labels of the buttons on the model card whose text holds `name` (null: no such card). */
function modelCardButtons(name: string): string[] | null {
  const card = [...document.querySelectorAll(".model-panel li.model-card")].find((c) =>
    c.textContent?.includes(name),
  );
  return card ? [...card.querySelectorAll("button")].map((b) => b.textContent?.trim() ?? "") : null;
}

test("leaving mid-download: the next page reads the stored models and finishes it, and going back chats", async () => {
  // WebKit keeps a page the user leaves in its back/forward cache with its workers paused.
  // A storage write paused there held its store: the next page of the site never read
  // its models, and neither did the journeys after it (src/ui/pageCache.ts).
  const name = "left-mid-download";
  models.files.set(`/away/${name}.gguf`, { bytes: readFileSync(DEMO_MODEL_PATH) });
  // slow enough that the page is left mid-download (about 5 s for the whole file)
  models.pace = { bytes: 16 * 1024, everyMs: 25 };
  await openApp();
  await waitForLoaded(); // the built-in model, the last one used
  await tab.fill(await byLabel("Add a model by URL", "input"), `${models.url}/away/${name}.gguf`);
  await tab.click('form.add-url button[type="submit"]');
  await expect
    .poll(() => tab.evaluate(textOf, "download-progress"), { timeout: 15_000, intervals: [100] })
    .toMatch(/^[1-9][\d.]* [kM]B/);
  // Another address, so that going back returns to this page (WebKit replaces the entry
  // when the same address loads again).
  await openApp(`${app.url}/?again`);
  models.pace = null;
  await waitForLoaded(30_000);
  await expect
    .poll(() => tab.evaluate(modelCardButtons, name), { timeout: 20_000 })
    .toContain("Resume");
  await tab.click(await byLabel("Resume", "button"));
  await expect
    .poll(async () => (await tab.evaluate(modelCardButtons, name)) ?? [], { timeout: 30_000 })
    .toContain("Load");
  // Back to the page that was left. Kept in the back/forward cache (WebKit here), its
  // engine ended when it was left, so it reloads; else it loads anew (Firefox here).
  // Either way it answers as the reference engine does.
  await tab.evaluate(() => history.back(), null);
  await expect
    .poll(() =>
      tab.evaluate(
        () => `${location.href} ${performance.getEntriesByType("navigation")[0]?.toJSON().type}`,
        null,
      ),
    )
    .toMatch(new RegExp(`^${escapeRegExp(app.url)}/ (reload|back_forward)$`));
  await waitForText("engine-status", "ready");
  await waitForLoaded(30_000);
  expect(await tab.evaluate(modelCardButtons, name)).toContain("Load");
  await newGreedyChat(8);
  await sendAndWait("Are you back?");
  await shot("left-mid-download");
  const { reply, expected } = await replyAndReference();
  expect(reply).toBe(expected);
});

test("offline: with the server gone, the app reopens from its service worker and chats", async () => {
  await openApp();
  await expect
    .poll(() => tab.evaluate(() => !!navigator.serviceWorker?.controller, null), {
      timeout: 20_000,
    })
    .toBe(true);
  await app.close();
  await models.close();
  await tab.reload();
  await waitForText("engine-status", "ready");
  expect(await tab.evaluate(() => window.crossOriginIsolated, null)).toBe(true);
  await waitForLoaded();
  await newGreedyChat(16);
  await sendAndWait("Are you offline?");
  await shot("offline-chat");
  const { reply, expected } = await replyAndReference();
  expect(reply).toBe(expected);
});

test("WebKit without SharedArrayBuffer (WebKitGTK's default): isolated, one thread, and it says why", async ({
  engine,
}) => {
  test.skip(engine !== "webkit", "only WebKit can isolate a page and give it no SharedArrayBuffer");
  const plain = await launchEngine("webkit", { sharedArrayBuffer: false });
  const server = await startStaticServer("dist", ISOLATION_HEADERS);
  const previous = tab;
  try {
    tab = await plain.newTab();
    await openApp(`${server.url}/`);
    expect(await tab.evaluate(() => window.crossOriginIsolated, null)).toBe(true);
    await waitForText("page-isolated", "yes");
    await waitForText("cap-sab", "no");
    const why = "1 (single-threaded: this browser gives the page no SharedArrayBuffer)";
    await waitForText("stats-threads", why);
    await waitForText("cap-threads", why);
    const words = await tab.evaluate(() => document.body.textContent ?? "", null);
    expect(words).not.toMatch(/not (cross-origin )?isolated/);
    // Isolated without SharedArrayBuffer is no reason to reload (issue 19, fault 7).
    expect(await tab.evaluate((key) => sessionStorage.getItem(key), RELOADED_KEY)).toBeNull();
    expect(server.requests.filter((path) => path === "/")).toHaveLength(1);
    await shot("no-shared-array-buffer");
  } finally {
    tab = previous;
    await plain.close();
    await server.close();
  }
});

test("WebKit on a host whose headers never isolate it: the first tab reloads once, a new tab never", async ({
  engine,
}) => {
  test.skip(
    engine !== "webkit",
    "only WebKit ignores COEP credentialless (the others isolate by it)",
  );
  // COOP with COEP credentialless (what Trit sent before issue 19): WebKit ignores it, and
  // the service worker keeps the host's header, so no load of this page is ever isolated.
  const host = await startStaticServer("dist", {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "credentialless",
  });
  // Every page load asks the host for "/" (the service worker goes to the network first).
  const loads = () => host.requests.filter((path) => path === "/").length;
  const previous = tab;
  const opened: EngineTab[] = [];
  try {
    tab = await browser.newTab();
    opened.push(tab);
    await tab.goto(`${host.url}/`);
    // First visit: the service worker takes over, the tab reloads once to try its headers,
    // and remembers for this browser that it did not help. Watched from the host's side:
    // WebKitWebDriver can hang on a script that runs while the page reloads.
    await expect.poll(loads, { timeout: 30_000 }).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const userAgent = await tab.evaluate(() => navigator.userAgent, null);
    await expect
      .poll(() => tab.evaluate((key) => localStorage.getItem(key), NO_HELP_KEY), {
        timeout: 30_000,
      })
      .toBe(userAgent);
    await waitForText("engine-status", "ready");
    expect(await tab.evaluate(() => window.crossOriginIsolated, null)).toBe(false);
    expect(loads()).toBe(2);
    // A new tab (its own session storage): served by the service worker from its first
    // load, still not isolated, and it does not reload.
    tab = await browser.newTab();
    opened.push(tab);
    await tab.goto(`${host.url}/`);
    await waitForText("engine-status", "ready");
    await tab.evaluate(() => {
      (window as { e2eSameDocument?: boolean }).e2eSameDocument = true;
      return true;
    }, null);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await tab.evaluate(() => !!navigator.serviceWorker.controller, null)).toBe(true);
    expect(await tab.evaluate(() => window.crossOriginIsolated, null)).toBe(false);
    expect(await tab.evaluate((key) => sessionStorage.getItem(key), RELOADED_KEY)).toBeNull();
    expect(
      await tab.evaluate(
        () => (window as { e2eSameDocument?: boolean }).e2eSameDocument ?? false,
        null,
      ),
    ).toBe(true);
    expect(loads()).toBe(3);
  } finally {
    for (const t of opened.reverse()) await t.close();
    tab = previous;
    await host.close();
  }
});
