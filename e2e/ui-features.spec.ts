import { openAsBlob, readFileSync } from "node:fs";
import { type Download, expect, type Page, test } from "@playwright/test";
import { readBitNetConfig } from "../src/engine/bitnet/config.ts";
import { readGgufHeader } from "../src/engine/gguf/index.ts";
import { formatBytes } from "../src/storage/words.ts";
import { DEMO_MODEL } from "../src/ui/state/modelCatalog.ts";
import { type SavedConversation, savedConversations } from "./support/app.ts";
import { bundleFakeEngine, openWithFakeEngine, routeFakeEngine } from "./support/fake-engine.ts";
import { DEMO_MODEL_BUTTON, DEMO_MODEL_PATH } from "./support/files.ts";

// What users of chat apps expect (issue 17), against the FAKE engine worker: rich markdown
// with code copy, export and import of chats, memory in view, the model's name, settings
// before the first chat.

let fakeWorker = "";
test.beforeAll(async () => {
  fakeWorker = await bundleFakeEngine();
});
test.use({ serviceWorkers: "block" });

async function send(page: Page, text: string) {
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
  await expect(
    page.getByRole("list", { name: "Messages" }).locator("li.message.assistant").last(),
  ).toHaveAttribute("aria-busy", "false");
}

async function downloaded(page: Page, click: () => Promise<void>): Promise<Download> {
  const [download] = await Promise.all([page.waitForEvent("download"), click()]);
  return download;
}

const byId = (list: SavedConversation[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));

test("markdown: a GFM table renders as a table, and the code copy button copies the code", async ({
  page,
  context,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const errors = await openWithFakeEngine(page, fakeWorker);
  await send(page, "a table please");
  const reply = page.getByRole("list", { name: "Messages" }).locator("li.message.assistant");
  const table = reply.getByRole("table");
  await expect(table.getByRole("columnheader")).toHaveText(["Model", "Bits"]);
  await expect(table.getByRole("row")).toHaveCount(3);
  await expect(table.getByRole("row").nth(1).getByRole("cell")).toHaveText(["BitNet", "1.58"]);
  // Raw HTML inside a cell is still text.
  await expect(table.getByRole("row").nth(2).getByRole("cell").first()).toHaveText("<b>fp16</b>");
  await expect(reply.locator("del")).toHaveText("slow");
  await expect(reply.getByRole("checkbox", { name: "Done", exact: true })).toBeChecked();
  await expect(reply.getByRole("checkbox", { name: "Not done" })).not.toBeChecked();
  await expect(reply.locator(".code-language")).toHaveText("python");
  await reply.getByRole("button", { name: "Copy python code" }).click();
  await expect(reply.getByRole("button", { name: "Copy python code" })).toHaveText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("print('ternary')");
  await page.screenshot({ path: "e2e/screenshots/ui-markdown-gfm.png", animations: "disabled" });
  expect(errors).toEqual([]);
});

test("export and import: one chat as Markdown and JSON, all chats round trip losslessly, bad files change nothing", async ({
  page,
  browser,
}) => {
  const errors = await openWithFakeEngine(page, fakeWorker);
  await send(page, "first chat");
  await page.getByRole("button", { name: "New chat" }).click();
  await page.getByRole("textbox", { name: "System prompt" }).fill("Be <em>brief</em>.");
  await send(page, 'second <img src=x onerror="self.__pwned=1"> chat');
  await send(page, "a table please");

  // One chat as Markdown and as JSON.
  const menu = page.locator("details.menu");
  await menu.locator("summary").click();
  const md = await downloaded(page, () =>
    page.getByRole("button", { name: "This chat as Markdown" }).click(),
  );
  expect(md.suggestedFilename()).toBe("second-img-src-x-onerror-self-pwned-1-chat.md");
  const markdown = readFileSync(await md.path(), "utf8");
  expect(markdown).toContain('# second <img src=x onerror="self.__pwned=1"> chat');
  expect(markdown).toContain("> **System prompt:** Be <em>brief</em>.");
  expect(markdown).toContain("## You\n\na table please\n\n## Trit\n\n| Model | Bits |");
  await menu.locator("summary").click();
  const one = await downloaded(page, () =>
    page.getByRole("button", { name: "This chat as JSON" }).click(),
  );
  const oneFile = JSON.parse(readFileSync(await one.path(), "utf8"));
  expect(oneFile.conversations).toHaveLength(1);

  // All chats, then into a browser profile of its own.
  const before = await savedConversations(page);
  expect(before).toHaveLength(2);
  const all = await downloaded(page, () =>
    page.getByRole("button", { name: "Export all chats" }).click(),
  );
  expect(all.suggestedFilename()).toMatch(/^trit-chats-\d{4}-\d{2}-\d{2}\.json$/);
  const allPath = await all.path();

  const other = await browser.newContext({ serviceWorkers: "block" });
  const fresh = await other.newPage();
  await routeFakeEngine(fresh, fakeWorker);
  await fresh.goto("/");
  await expect(fresh.getByText("No chats yet.")).toBeVisible();
  const importInput = fresh.getByLabel("Import chats from an export file");

  // Hostile or broken files: refused in words, nothing saved.
  const refused = async (name: string, body: Buffer | string, why: RegExp) => {
    await importInput.setInputFiles({
      name,
      mimeType: "application/json",
      buffer: Buffer.from(body),
    });
    await expect(fresh.getByRole("alert")).toContainText(why);
    await expect(fresh.getByRole("alert")).toContainText("Nothing was imported.");
    await fresh.getByRole("button", { name: "Dismiss the error" }).click();
    expect(await savedConversations(fresh)).toEqual([]);
  };
  await refused("notes.json", "<html><script>alert(1)</script>", /not JSON/);
  await refused(
    "list.json",
    '{"format":"trit-chats","version":1,"conversations":{}}',
    /not a list/,
  );
  const hostile = JSON.parse(readFileSync(allPath, "utf8"));
  hostile.conversations[0].id = '<img src=x onerror="self.__pwned=1">';
  await refused("hostile.json", JSON.stringify(hostile), /is not an id Trit writes/);
  await refused("huge.json", Buffer.alloc(21_000_000, 32), /too big/);

  // The real export: the same conversations come back.
  await importInput.setInputFiles(allPath);
  await expect(fresh.getByRole("status")).toHaveText("Imported: 2 chats added.");
  expect(byId(await savedConversations(fresh))).toEqual(byId(before));
  const chats = fresh.getByRole("navigation", { name: "Chats" });
  await expect(
    chats.getByRole("button", {
      name: 'second <img src=x onerror="self.__pwned=1"> chat',
      exact: true,
    }),
  ).toBeVisible();
  expect(await fresh.locator(".conversation-list img").count()).toBe(0);
  // After a reload too (they are saved, not just shown).
  await fresh.reload();
  await expect(chats.getByRole("button", { name: "first chat", exact: true })).toBeVisible();
  expect(byId(await savedConversations(fresh))).toEqual(byId(before));

  // Importing again, after a chat changed here: the newer copy here is kept.
  await chats.getByRole("button", { name: "first chat", exact: true }).click();
  await chats.getByRole("button", { name: "Rename first chat" }).click();
  await chats.getByRole("textbox", { name: "New name for first chat" }).fill("renamed here");
  await fresh.keyboard.press("Enter");
  await fresh.getByLabel("Import chats from an export file").setInputFiles(allPath);
  await expect(fresh.getByRole("status")).toHaveText(
    "Imported: 0 chats added, 2 chats kept as they were (this browser's copy is as new or newer).",
  );
  const titles = (await savedConversations(fresh)).map((c) => c.title).sort();
  expect(titles).toEqual(["renamed here", before.find((c) => c.title !== "first chat")?.title]);
  expect(
    await fresh.evaluate(() => (window as unknown as { __pwned?: number }).__pwned),
  ).toBeUndefined();
  await other.close();
  expect(errors).toEqual([]);
});

test("memory and model in view: the engine's and the page's memory, the model's name, a warning before a model that will not fit", async ({
  page,
}) => {
  const errors = await openWithFakeEngine(page, fakeWorker);
  await expect(page.getByTestId("chat-model")).toHaveText("BitNet b1.58 2B4T");
  // The fake reports an 80 MB wasm memory with a 25 MB KV cache.
  await expect(page.getByTestId("stats-memory")).toHaveText(
    "80.0 MB wasm, of which KV cache 25.0 MB",
  );
  // Chromium tells the page's memory (measured, or at least its JS heap).
  await expect(page.getByTestId("stats-page-memory")).toHaveText(/^\d+(\.\d+)? (kB|MB|GB)/);

  // A 5 GB model: stored, but not loaded without asking.
  await page.getByLabel("Add a model by URL").fill("https://models.example/huge.gguf");
  await page.locator("form.add-url").getByRole("button", { name: "Add" }).click();
  const card = page.getByRole("listitem").filter({ hasText: "huge.gguf" });
  await card.getByRole("button", { name: "Load" }).click();
  const warning = page.locator(".memory-warning");
  await expect(warning).toContainText(
    "huge.gguf needs about 5.09 GB of memory (5.00 GB of weights, 25.0 MB of KV cache, 67.1 MB to work in), more than the 4.29 GB (4 GiB) a WebAssembly engine can address.",
  );
  await page.screenshot({ path: "e2e/screenshots/ui-memory-warning.png", animations: "disabled" });
  await warning.getByRole("button", { name: "Don't load" }).click();
  await expect(warning).toHaveCount(0);
  await expect(page.getByTestId("chat-model")).toHaveText("BitNet b1.58 2B4T");
  // Asked again, it can be loaded anyway.
  await card.getByRole("button", { name: "Load" }).click();
  await warning.getByRole("button", { name: "Load anyway" }).click();
  await expect(page.getByTestId("chat-model")).toHaveText("huge.gguf");
  expect(errors).toEqual([]);
});

test("settings before the first chat: defaults for new chats, kept across a reload", async ({
  page,
}) => {
  await page.goto("/");
  await expect(page.getByText("No chats yet.")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Settings for new chats" })).toBeVisible();
  await page.getByRole("spinbutton", { name: "Temperature" }).fill("0.3");
  await page.getByRole("spinbutton", { name: "Max tokens" }).fill("99");
  await page.getByRole("textbox", { name: "System prompt" }).fill("Answer in French.");
  await page.reload();
  await expect(page.getByRole("spinbutton", { name: "Temperature" })).toHaveValue("0.3");
  await page.getByRole("button", { name: "New chat" }).click();
  await expect(page.getByRole("heading", { name: "Chat settings" })).toBeVisible();
  await expect(page.getByRole("spinbutton", { name: "Temperature" })).toHaveValue("0.3");
  await expect(page.getByRole("spinbutton", { name: "Max tokens" })).toHaveValue("99");
  const [chat] = await savedConversations(page);
  expect(chat.settings).toMatchObject({ temperature: 0.3, maxTokens: 99 });
  expect(chat.systemPrompt).toBe("Answer in French.");
});

test("real engine: the built-in model is named in the header, with its wasm memory and KV cache", async ({
  page,
}) => {
  const file = await openAsBlob(DEMO_MODEL_PATH);
  const c = readBitNetConfig(await readGgufHeader(file));
  // K and V, f32, for every layer and every position of the context.
  const kv = c.layers * 2 * c.contextLength * c.kvHeads * c.headDim * 4;
  await page.goto("/");
  await expect(page.getByTestId("engine-status")).toHaveText("ready", { timeout: 30_000 });
  await page.getByRole("button", { name: DEMO_MODEL_BUTTON }).click();
  await expect(page.getByTestId("chat-model")).toHaveText(DEMO_MODEL.name, {
    timeout: 60_000,
  });
  const memory = page.getByTestId("stats-memory");
  await expect(memory).toHaveText(/ wasm, of which KV cache /);
  const [wasm, cache] = (await memory.textContent())?.split(" wasm, of which KV cache ") ?? [];
  expect(cache).toBe(formatBytes(kv));
  // The wasm memory holds the weights (about the file) and the cache, under the 4 GiB ceiling.
  const asBytes = (text: string) => {
    const [n, unit] = text.split(" ");
    return Number(n) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[unit as "B"];
  };
  expect(asBytes(wasm)).toBeGreaterThan(kv + file.size * 0.9);
  expect(asBytes(wasm)).toBeLessThan(2 ** 32);
});
