import { readFileSync } from "node:fs";
import { expect, type Page, test } from "@playwright/test";
import { startRangeServer } from "../../src/storage/testing/range-server.ts";
import type { ChatMessage } from "../../src/worker/api.ts";
import {
  addModelByUrl,
  newGreedyChat,
  openApp,
  promptOf,
  type SavedConversation,
  savedConversations,
  sendAndWait,
  shot,
  waitForLoaded,
} from "../support/app.ts";
import { DEMO_MODEL_PATH, readTinyModel } from "../support/files.ts";
import { endJourney, type Journey, startJourney } from "../support/journey.ts";
import { promptTokenCount, referenceReply } from "../support/reference.ts";

// Conversations that hold up, on the REAL engine and the tiny model (a 512-token context):
// a long chat goes on past the context, new turns stay in view, two tabs lose nothing, and
// nothing is fetched that the user did not ask for. One browser context, in order.

const tiny = readTinyModel();
// The long chat runs on the trained demo model (512 tokens too): the random tiny model's
// replies are byte soup whose tokens a fresh encoding of the history does not reproduce,
// so its cache can rarely be shifted; real text, as a user has, can.
const demo = new Uint8Array(readFileSync(DEMO_MODEL_PATH));
const CONTEXT = 512;

let journey: Journey;
let page: Page;

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ browser }, testInfo) => {
  const viewport = { width: 1280, height: 800 };
  journey = await startJourney(browser, testInfo.project.use.baseURL, tiny, viewport);
  page = journey.page;
});

test.afterAll(() => endJourney(journey));

const messageList = (p: Page) => p.getByRole("list", { name: "Messages" });

/** The conversation changed last, as saved. */
async function latest(p: Page): Promise<SavedConversation> {
  const [newest] = (await savedConversations(p)).sort((a, b) => b.updatedAt - a.updatedAt);
  return newest;
}

/** A user message of about `words` words, different each turn. */
function longMessage(turn: number, words: number): string {
  const vocabulary = ["river", "stone", "lamp", "garden", "window", "cloud", "paper", "music"];
  const out = [`Turn ${turn}:`];
  for (let i = 0; i < words; i++) out.push(vocabulary[(i * 5 + turn) % vocabulary.length]);
  return out.join(" ");
}

/** The newest question and its reply are on screen. */
async function expectNewestInView(p: Page) {
  await expect(messageList(p).locator("li.message.user").last()).toBeInViewport();
  await expect(messageList(p).locator("li.message.assistant").last()).toBeInViewport();
}

test("a chat past the context limit keeps working, says what fell out, and keeps new turns in view", async () => {
  await openApp(page);
  journey.server.files.set("/models/demo.gguf", { bytes: demo, etag: '"demo-1"' });
  await addModelByUrl(page, `${journey.server.url}/models/demo.gguf`);
  await waitForLoaded(page);
  await newGreedyChat(page, 24);

  let firstDropTurn = 0;
  for (let turn = 1; turn <= 12; turn++) {
    await sendAndWait(page, longMessage(turn, 40));
    await expect(messageList(page).locator(".message .error")).toHaveCount(0);
    await expectNewestInView(page);
    const saved = await latest(page);
    const last = saved.messages.at(-1) as SavedConversation["messages"][number] & {
      stats?: {
        droppedMessages: number;
        promptTokens: number;
        prefilledTokens: number;
        shiftedTokens: number;
      };
    };
    expect(last.status).toBe("done");
    if (turn === 1) {
      // the engine is the one the reference says it is
      const expected = await referenceReply(DEMO_MODEL_PATH, promptOf(saved), saved.settings);
      expect(last.content).toBe(expected.text);
    }
    const dropped = last.stats?.droppedMessages ?? 0;
    const note = page.getByTestId("context-note");
    if (dropped === 0) {
      await expect(note).toHaveCount(0);
      continue;
    }
    if (!firstDropTurn) {
      // The turns fell out of the engine's KV cache by a shift: only the new message was
      // computed, not the whole kept history again.
      firstDropTurn = turn;
      expect(last.stats?.shiftedTokens).toBeGreaterThan(0);
      expect(last.stats?.prefilledTokens).toBeLessThan(120);
      expect(last.stats?.promptTokens).toBeGreaterThan(300);
    }
    // The note says how many messages fell out, and sits right before the first one kept.
    await expect(note).toHaveText(
      `The ${dropped} earliest messages above are out of the model's view (its context holds ${CONTEXT} tokens); it still sees the system prompt and everything from here on.`,
    );
    const before = await note.evaluate((el) => {
      let n = 0;
      for (let e = el.previousElementSibling; e; e = e.previousElementSibling) n++;
      return { n, next: el.nextElementSibling?.className };
    });
    expect(before).toEqual({ n: dropped, next: "message user" });
    // Truth from the model's tokenizer in Node: the whole chat does not fit the context the
    // reply needs, and what the model saw does.
    const prompt = promptOf(saved);
    const kept: ChatMessage[] = [prompt[0], ...prompt.slice(1 + dropped)];
    expect(prompt[0].role).toBe("system");
    // (budget: 512 less the reply's 24; a fresh encoding may differ from the engine's
    // reused tokens by a few at the reply seams)
    expect(await promptTokenCount(DEMO_MODEL_PATH, prompt)).toBeGreaterThan(CONTEXT - 24 - 8);
    expect(await promptTokenCount(DEMO_MODEL_PATH, kept)).toBeLessThanOrEqual(CONTEXT);
    await expect(page.getByTestId("stats-tokens")).toHaveText(/^\d+ \/ 512 in context$/);
    const used = Number((await page.getByTestId("stats-tokens").textContent())?.split(" ")[0]);
    expect(used).toBeLessThanOrEqual(CONTEXT);
    if (turn >= firstDropTurn + 2) break; // it went on twice past the first drop
  }
  expect(firstDropTurn).toBeGreaterThan(1);
  await shot(page, "journey-long-chat-dropped");
  expect(journey.pageErrors).toEqual([]);
});

test("reading older messages: a streaming reply does not pull the view down", async () => {
  // The random tiny model: it streams all 200 tokens (the demo model ends its turn early).
  await addModelByUrl(page, `${journey.server.url}/models/tiny.gguf`);
  const tinyCard = page.locator("li.model-card").filter({ hasText: "tiny.gguf" });
  await tinyCard.getByRole("button", { name: "Load" }).click({ timeout: 60_000 });
  await expect(page.getByTestId("current-model")).toHaveText(/^Loaded: tiny\.gguf/, {
    timeout: 60_000,
  });
  await page.getByLabel("Max tokens").fill("200");
  const composer = page.getByRole("textbox", { name: "Message" });
  await composer.fill("Tell me a long story.");
  await composer.press("Enter");
  const reply = messageList(page).locator("li.message.assistant").last();
  await expect(reply).toHaveAttribute("aria-busy", "true");
  // The reader scrolls up to an older message while the reply streams.
  const lengthThen = await messageList(page).evaluate((el) => {
    el.scrollTop = 0;
    el.dispatchEvent(new Event("scroll"));
    return el.lastElementChild?.textContent?.length ?? 0;
  });
  await expect(reply).toHaveAttribute("aria-busy", "false", { timeout: 60_000 });
  const after = await messageList(page).evaluate((el) => ({
    top: el.scrollTop,
    length: el.lastElementChild?.textContent?.length ?? 0,
  }));
  expect(after.length).toBeGreaterThan(lengthThen); // the reply kept coming after the scroll
  expect(after.top).toBe(0); // and the view stayed where the reader put it
  await expect(reply).not.toBeInViewport();
  await page.getByLabel("Max tokens").fill("24");
});

test("two tabs on one conversation lose nothing; new chats and models show up live", async () => {
  const live = await journey.context.newPage();
  await openApp(live);
  await waitForLoaded(live);
  // A third tab that hears nothing from the others (as if it missed the news; it still
  // tells them of its own saves): it keeps showing the copy it read at start.
  const stale = await journey.context.newPage();
  await stale.addInitScript(() => {
    const Heard = BroadcastChannel;
    class Deaf extends Heard {
      set onmessage(_handler: BroadcastChannel["onmessage"]) {}
      get onmessage(): BroadcastChannel["onmessage"] {
        return null;
      }
    }
    (window as unknown as { BroadcastChannel: unknown }).BroadcastChannel = Deaf;
  });

  // Tab A starts a chat: the live tab lists it at once.
  await newGreedyChat(page, 16);
  await sendAndWait(page, "Hello from tab A");
  const chats = (p: Page) => p.getByRole("navigation", { name: "Chats" });
  await expect(
    chats(live).getByRole("button", { name: "Hello from tab A", exact: true }),
  ).toBeVisible();

  await openApp(stale);
  await waitForLoaded(stale);
  for (const p of [live, stale]) {
    await chats(p).getByRole("button", { name: "Hello from tab A", exact: true }).click();
    await expect(messageList(p).locator("li.message")).toHaveCount(2);
  }

  // A sends another turn and gets its reply; the live tab follows, the stale one does not.
  await sendAndWait(page, "Second from tab A");
  await expect(messageList(live).locator("li.message")).toHaveCount(4);
  await expect(messageList(live).locator("li.message.assistant").last()).toHaveAttribute(
    "aria-busy",
    "false",
  );
  await expect(messageList(stale).locator("li.message")).toHaveCount(2);

  // The stale tab, still showing the old copy, sends one.
  await sendAndWait(stale, "Hello from tab C");

  const expected = ["Hello from tab A", "Second from tab A", "Hello from tab C"];
  const saved = (await savedConversations(page)).find((c) => c.title === "Hello from tab A");
  expect(saved?.messages.filter((m) => m.role === "user").map((m) => m.content)).toEqual(expected);
  expect(saved?.messages.map((m) => m.role)).toEqual([
    "user",
    "assistant",
    "user",
    "assistant",
    "user",
    "assistant",
  ]);
  for (const m of saved?.messages ?? []) if (m.role === "assistant") expect(m.status).toBe("done");
  // After a reload both tabs show every turn and reply; the live tab shows them without one.
  for (const p of [page, stale]) {
    await p.reload();
    await expect(p.getByTestId("engine-status")).toHaveText("ready");
    await chats(p).getByRole("button", { name: "Hello from tab A", exact: true }).click();
  }
  for (const p of [page, stale, live]) {
    await expect(messageList(p).locator("li.message.user .message-body")).toHaveText(expected);
    await expect(messageList(p).locator("li.message.assistant")).toHaveCount(3);
  }
  await shot(live, "journey-two-tabs");

  // A model added in one tab appears in the other's list at once.
  journey.server.files.set("/models/second-tiny.gguf", { bytes: tiny, etag: '"tiny-2"' });
  await addModelByUrl(page, `${journey.server.url}/models/second-tiny.gguf`);
  await expect(live.getByRole("list", { name: "Models" })).toContainText("second-tiny.gguf", {
    timeout: 30_000,
  });
  await live.close();
  await stale.close();
  expect(journey.pageErrors).toEqual([]);
});

test("a reply with a remote image and a share link contact nobody before the user says yes", async () => {
  const counter = await startRangeServer();
  counter.cors = true;
  counter.files.set("/pixel.png", { bytes: new Uint8Array([137, 80, 78, 71]) });
  counter.files.set("/shared/model.gguf", { bytes: tiny, etag: '"tiny-3"' });
  try {
    // A reply that carries a tracking image, as the app saved it.
    const pixel = `${counter.url}/pixel.png?leak=SECRET-FROM-CHAT`;
    await page.evaluate(async (reply) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open("trit-chat");
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const now = Date.now() + 60_000;
      const record = {
        id: "with-image",
        title: "With an image",
        titleEdited: true,
        createdAt: now,
        updatedAt: now,
        systemPrompt: "",
        settings: {},
        removedIds: [],
        messages: [
          { id: "q", role: "user", content: "Show me", createdAt: now },
          { id: "r", role: "assistant", content: reply, createdAt: now, status: "done" },
        ],
      };
      await new Promise<void>((resolve, reject) => {
        const tx = db.transaction("conversations", "readwrite");
        tx.objectStore("conversations").put(record, record.id);
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
      db.close();
    }, `Here it is: ![a pixel](${pixel}) and more text.`);
    await page.reload();
    await expect(page.getByTestId("engine-status")).toHaveText("ready");
    await page
      .getByRole("navigation", { name: "Chats" })
      .getByRole("button", { name: "With an image", exact: true })
      .click();
    const reply = messageList(page).locator("li.message.assistant").last();
    await expect(reply.getByRole("link", { name: /Image: a pixel/ })).toHaveAttribute(
      "href",
      pixel,
    );
    expect(await reply.locator("img").count()).toBe(0);

    // A share link to a model on that server: the dialog asks, and nothing is fetched.
    const modelUrl = `${counter.url}/shared/model.gguf`;
    await openApp(page, `/#model=${encodeURIComponent(modelUrl)}&name=Counted`);
    const dialog = page.getByRole("dialog", { name: "Open a shared model?" });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByTestId("share-size")).toHaveText("unknown until the download starts");
    await page.waitForTimeout(1500);
    await dialog.getByRole("button", { name: "Not now" }).click();
    await page.waitForTimeout(500);
    expect(counter.log).toEqual([]);

    // The counter does count: once the user says yes, the model is fetched.
    await openApp(page, `/#model=${encodeURIComponent(modelUrl)}&name=Counted`);
    await page.getByRole("button", { name: "Download and open" }).click();
    await expect.poll(() => counter.log.some((r) => r.path === "/shared/model.gguf")).toBe(true);
    expect(counter.log.filter((r) => r.path === "/pixel.png")).toEqual([]);
    expect(journey.pageErrors).toEqual([]);
  } finally {
    await counter.close();
  }
});
