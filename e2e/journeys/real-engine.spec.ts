import { type BrowserContext, expect, type Page, test } from "@playwright/test";
import { type RangeServer, startRangeServer } from "../../src/storage/testing/range-server.ts";
import {
  addModelByUrl,
  newGreedyChat,
  openApp,
  promptOf,
  recordStreaming,
  savedConversations,
  sendAndWait,
  shot,
  storedModelSha256,
  storedModels,
  streamSnapshots,
  waitForLoaded,
} from "../support/app.ts";
import { readTinyModel, sha256Hex, TINY_MODEL_PATH } from "../support/files.ts";
import { referenceReply } from "../support/reference.ts";

// The user's journeys against the REAL engine worker and model store, one browser context
// (one IndexedDB, one service worker) shared by the journeys in order, as one person would.

const MiB = 1024 * 1024;
const tiny = readTinyModel();
const tinySha = sha256Hex(tiny);

let server: RangeServer;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ browser }, testInfo) => {
  server = await startRangeServer();
  server.cors = true;
  server.files.set("/models/tiny.gguf", { bytes: tiny, etag: '"tiny-1"' });
  context = await browser.newContext({
    baseURL: testInfo.project.use.baseURL,
    viewport: { width: 1280, height: 900 },
  });
  page = await context.newPage();
  page.on("pageerror", (err) => pageErrors.push(err.message));
});

test.afterAll(async () => {
  await context?.close();
  await server?.close();
});

/** The last saved conversation's last reply, and what the reference engine says to its prompt. */
async function replyAndReference(): Promise<{ reply: string; expected: string }> {
  const [latest] = (await savedConversations(page)).sort((a, b) => b.updatedAt - a.updatedAt);
  const last = latest.messages.at(-1);
  expect(last?.role).toBe("assistant");
  const expected = await referenceReply(TINY_MODEL_PATH, promptOf(latest), latest.settings);
  return { reply: last?.content ?? "", expected: expected.text };
}

test("first visit: add the tiny model from a local server, watch it download, chat, stream", async () => {
  // A slow link, so the progress bar has time to move.
  server.pace = { bytes: 256 * 1024, everyMs: 10 };
  await openApp(page);
  await newGreedyChat(page, 24);
  await addModelByUrl(page, `${server.url}/models/tiny.gguf`);

  const bar = page.getByRole("progressbar", { name: /^Download of / });
  await expect(bar).toBeVisible({ timeout: 15_000 });
  const seen: number[] = [];
  let shotTaken = false;
  while (seen.length < 200) {
    const value = await bar.getAttribute("value", { timeout: 500 }).catch(() => null);
    if (value === null) break;
    if (Number(value) !== seen.at(-1)) seen.push(Number(value));
    if (!shotTaken && Number(value) > 8 * MiB) {
      await shot(page, "journey-first-visit-downloading");
      shotTaken = true;
    }
    await page.waitForTimeout(100);
  }
  server.pace = null;
  const moving = seen.filter((v) => v > 0 && v < tiny.length);
  expect(moving.length).toBeGreaterThanOrEqual(3);
  expect(seen).toEqual([...seen].sort((a, b) => a - b));

  // The app loads the model by itself once it is stored.
  await waitForLoaded(page);
  await expect(page.getByTestId("stats-kernel")).toHaveText(/SIMD|scalar/);
  const [record] = await storedModels(page);
  expect(await storedModelSha256(page, record.id)).toBe(tinySha);

  await recordStreaming(page);
  await sendAndWait(page, "Hello there");
  await shot(page, "journey-first-visit-reply");

  const { reply, expected } = await replyAndReference();
  expect(reply).toBe(expected);
  expect(reply.length).toBeGreaterThan(0);
  // Streamed: while the reply was being written the page showed several partial states
  // (not strictly growing text: markdown may re-render a half-written link), the first
  // much shorter than the whole reply.
  const partial = (await streamSnapshots(page)).filter((t) => t.trim().length > 0);
  expect(new Set(partial).size).toBeGreaterThanOrEqual(3);
  expect(partial[0].length).toBeLessThan(reply.length / 2);
  expect(pageErrors).toEqual([]);
});

test("persistence: the conversation survives a reload and a new engine worker, and goes on", async () => {
  const before = await savedConversations(page);
  const replyText = before[0].messages.at(-1)?.content ?? "";
  await page.reload();
  await expect(page.getByTestId("engine-status")).toHaveText("ready");
  const messages = page.getByRole("list", { name: "Messages" });
  await expect(messages.locator("li.message.user")).toHaveText(/Hello there/);
  await expect(messages.locator("li.message.assistant")).toHaveCount(1);
  // The model used last time comes back by itself, in the new page's new worker.
  await waitForLoaded(page);

  // A second turn on the fresh worker: it must rebuild the whole conversation's tokens.
  await sendAndWait(page, "Tell me more");
  await shot(page, "journey-persistence-second-turn");
  const { reply, expected } = await replyAndReference();
  expect(reply).toBe(expected);

  // Another tab: its own worker, same saved chats.
  const other = await context.newPage();
  await openApp(other);
  await expect(other.getByRole("list", { name: "Messages" }).locator("li.message")).toHaveCount(4);
  const again = await savedConversations(other);
  expect(again[0].messages[1].content).toBe(replyText);
  await other.close();
  expect(pageErrors).toEqual([]);
});
