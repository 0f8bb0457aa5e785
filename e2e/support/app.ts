import { expect, type Page } from "@playwright/test";
import type { ChatMessage, SamplingSettings } from "../../src/worker/api.ts";

/** Where every journey's screenshots go (git-ignored). */
export const SCREENSHOTS = "e2e/screenshots";

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}

/** Opens the app and waits for the real engine worker to answer. */
export async function openApp(page: Page, url = "/"): Promise<void> {
  // A link that differs only in its #fragment would not load the page again: start afresh,
  // as a person opening a link in the tab does.
  if (url.includes("#")) await page.goto("about:blank");
  await page.goto(url);
  await expect(page.getByTestId("engine-status")).toHaveText("ready", { timeout: 30_000 });
}

/** Types a model URL into the model panel's "Add a model by URL" field and adds it. */
export async function addModelByUrl(page: Page, url: string): Promise<void> {
  await page.getByLabel("Add a model by URL").fill(url);
  await page.locator("form.add-url").getByRole("button", { name: "Add" }).click();
}

/** Waits until a model is loaded and the composer can send. */
export async function waitForLoaded(page: Page, timeout = 60_000): Promise<void> {
  await expect(page.getByTestId("current-model")).toHaveText(/^Loaded: /, { timeout });
}

/** Starts a new chat and makes it greedy with `maxTokens`, through the settings panel. */
export async function newGreedyChat(page: Page, maxTokens: number): Promise<void> {
  await page.getByRole("button", { name: "New chat" }).click();
  await page.getByLabel("Temperature").fill("0");
  await page.getByLabel("Max tokens").fill(String(maxTokens));
  await expect(page.getByLabel("Temperature")).not.toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Max tokens")).not.toHaveAttribute("aria-invalid", "true");
}

/**
 * Records the text of the reply being written each time the page changes, so a test can
 * see a reply grow piece by piece (streaming) rather than appear at once.
 */
export async function recordStreaming(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __tritStream?: string[] };
    w.__tritStream = [];
    new MutationObserver(() => {
      const reply = document.querySelector('li.message.assistant[aria-busy="true"] .message-body');
      const text = reply?.textContent ?? "";
      const seen = w.__tritStream as string[];
      if (reply && text !== seen.at(-1)) seen.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

export async function streamSnapshots(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __tritStream?: string[] }).__tritStream ?? []);
}

/** Sends a message with Enter and waits for the reply to finish streaming. */
export async function sendAndWait(page: Page, text: string, timeout = 60_000): Promise<void> {
  const composer = page.getByRole("textbox", { name: "Message" });
  await composer.fill(text);
  await composer.press("Enter");
  const messages = page.getByRole("list", { name: "Messages" });
  await expect(messages.locator("li.message.assistant").last()).toHaveAttribute(
    "aria-busy",
    "false",
    { timeout },
  );
}

export interface SavedConversation {
  id: string;
  title: string;
  updatedAt: number;
  systemPrompt: string;
  settings: SamplingSettings;
  messages: { id: string; role: ChatMessage["role"]; content: string; status?: string }[];
}

/**
 * The conversations as the app saved them in IndexedDB (the "trit-chat" database): a
 * self-contained function to run in the page (Playwright's or another engine's).
 */
export function readSavedConversations(): Promise<SavedConversation[]> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("trit-chat");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains("conversations")) {
        db.close();
        resolve([]);
        return;
      }
      const all = db.transaction("conversations").objectStore("conversations").getAll();
      all.onerror = () => reject(all.error);
      all.onsuccess = () => {
        db.close();
        resolve(all.result as SavedConversation[]);
      };
    };
  });
}

/** The conversations as the app saved them in IndexedDB. */
export async function savedConversations(page: Page): Promise<SavedConversation[]> {
  return page.evaluate(readSavedConversations);
}

/** The messages a conversation sends the engine for its last reply (system prompt first). */
export function promptOf(conversation: SavedConversation): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (conversation.systemPrompt.trim())
    out.push({ role: "system", content: conversation.systemPrompt });
  for (const m of conversation.messages.slice(0, -1))
    out.push({ role: m.role, content: m.content });
  return out;
}

/**
 * The SHA-256 (hex) of a stored model's bytes, read back from the model store's chunks in
 * IndexedDB ("trit-model-chunks", keys [modelId, shard, index]) in the page.
 */
export async function storedModelSha256(page: Page, modelId: string): Promise<string> {
  return page.evaluate(async (id) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open("trit-model-chunks");
      open.onerror = () => reject(open.error);
      open.onsuccess = () => resolve(open.result);
    });
    const range = IDBKeyRange.bound([id, 0, 0], [id, 0, Number.MAX_SAFE_INTEGER]);
    const parts = await new Promise<unknown[]>((resolve, reject) => {
      const all = db.transaction("chunks").objectStore("chunks").getAll(range);
      all.onerror = () => reject(all.error);
      all.onsuccess = () => resolve(all.result);
    });
    db.close();
    const blob = new Blob(parts as BlobPart[]);
    const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }, modelId);
}

/** The model store's records (id, name, urls, state, error) from IndexedDB. */
export async function storedModels(
  page: Page,
): Promise<{ id: string; name: string; urls: string[]; state: string; storedBytes: number }[]> {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("trit-models");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const all = db.transaction("records").objectStore("records").getAll();
          all.onerror = () => reject(all.error);
          all.onsuccess = () => {
            db.close();
            resolve(all.result);
          };
        };
      }),
  );
}
