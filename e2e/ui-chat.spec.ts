import { expect, type Page, test } from "@playwright/test";
import { build } from "vite";

// The whole chat UI in a real browser, against the FAKE engine worker
// (src/ui/state/testing/fakeEngine.worker.ts) served in place of the real one.

let fakeWorker = "";

test.beforeAll(async () => {
  const result = await build({
    configFile: false,
    logLevel: "silent",
    build: {
      write: false,
      lib: {
        entry: "src/ui/state/testing/fakeEngine.worker.ts",
        formats: ["es"],
        fileName: "fake",
      },
      rollupOptions: { output: { codeSplitting: false } as object },
    },
  });
  const outputs = Array.isArray(result) ? result : [result];
  for (const out of outputs) {
    if (!("output" in out)) continue;
    for (const chunk of out.output) if (chunk.type === "chunk") fakeWorker += chunk.code;
  }
  expect(fakeWorker).toContain("abortGeneration");
});

// No service worker here: its cached copy of the real engine would bypass the route.
test.use({ serviceWorkers: "block" });

async function openWithFakeEngine(page: Page) {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.route(/engine\.worker-[^/]*\.js$/, (route) =>
    route.fulfill({
      body: fakeWorker,
      contentType: "text/javascript",
      // A worker under a cross-origin isolated page must say it accepts the same policy.
      headers: { "Cross-Origin-Embedder-Policy": "require-corp" },
    }),
  );
  await page.goto("/");
  await expect(page.getByTestId("engine-status")).toHaveText("ready");
  // The fake's download is instant; the app loads the model by itself afterwards.
  await page
    .getByRole("button", { name: /Download BitNet b1\.58 2B4T/ })
    .first()
    .click();
  await expect(page.getByRole("button", { name: "Send" })).toBeDisabled();
  await expect(page.getByTestId("current-model")).toHaveText(/Loaded: ggml-model-i2_s\.gguf/);
  await expect(page.getByTestId("stats-kernel")).toHaveText("SIMD128");
  await expect(page.getByTestId("stats-threads")).toHaveText("2");
  return errors;
}

test("chat: Enter sends, Shift+Enter is a new line, the reply streams as safe markdown", async ({
  page,
}) => {
  const errors = await openWithFakeEngine(page);
  const box = page.getByRole("textbox", { name: "Message" });
  await box.click();
  await page.keyboard.type("Hello");
  await page.keyboard.press("Shift+Enter");
  await page.keyboard.type("world");
  await expect(box).toHaveValue("Hello\nworld");
  await page.keyboard.press("Enter");
  await expect(box).toHaveValue("");

  const messages = page.getByRole("list", { name: "Messages" }).getByRole("listitem");
  await expect(messages).toHaveCount(2);
  await expect(messages.nth(0)).toContainText("Hello\nworld");
  const reply = messages.nth(1);
  await expect(reply).toContainText("Turn 1: you said Hello world (t=0.6).");
  await expect(reply.locator("strong")).toHaveText("Hello\nworld");
  await expect(reply.locator("code.hljs .hljs-keyword")).toHaveText("const");
  await expect(reply).toContainText('<img src=x onerror="self.__pwned=1">');
  expect(await reply.locator("img").count()).toBe(0);
  expect(
    await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned),
  ).toBeUndefined();
  await expect(page.getByTestId("stats-tokens")).toHaveText(/in context/);
  // The conversation took its title from the first message.
  await expect(page.getByRole("heading", { name: "Hello" })).toBeVisible();
  expect(errors).toEqual([]);
});

test("chat: Esc stops a reply; regenerate and edit continue from there", async ({ page }) => {
  await openWithFakeEngine(page);
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill("go slow please");
  await box.press("Enter");
  const messages = page.getByRole("list", { name: "Messages" }).getByRole("listitem");
  await expect(messages.nth(1)).toContainText("w2");
  await expect(page.getByTestId("stats-speed")).toHaveText(/tok\/s|starting/);
  await page.keyboard.press("Escape");
  await expect(messages.nth(1)).toContainText("Stopped.");
  await expect(messages.nth(1)).not.toContainText("w39");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();

  await box.fill("second");
  await box.press("Enter");
  await expect(messages.nth(3)).toContainText("Turn 2: you said second");
  await page.getByRole("button", { name: "Regenerate this reply" }).click();
  await expect(messages).toHaveCount(4);
  await expect(messages.nth(3)).toContainText("Turn 2: you said second");

  await page
    .getByRole("button", { name: "Edit this message and continue from here" })
    .first()
    .click();
  await page.getByRole("textbox", { name: "Edit message" }).fill("edited first");
  await page.getByRole("button", { name: "Save and send" }).click();
  await expect(messages).toHaveCount(2);
  await expect(messages.nth(1)).toContainText("Turn 1: you said edited first");
});

test("chat: copy a reply, and share a link for the current model and prompt", async ({
  page,
  context,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await openWithFakeEngine(page);
  await page.getByRole("button", { name: "New chat" }).click();
  await page.getByRole("spinbutton", { name: "Temperature" }).fill("0.25");
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill("copy me");
  await box.press("Enter");
  await expect(page.getByRole("button", { name: "Copy reply" })).toBeVisible();
  await page.getByRole("button", { name: "Copy reply" }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toContain(
    "Turn 1: you said **copy me**",
  );

  await page.getByRole("button", { name: "Share" }).click();
  const dialog = page.getByRole("dialog", { name: "Share this model" });
  const link = await dialog.getByRole("textbox", { name: "Link" }).inputValue();
  const hash = new URLSearchParams(new URL(link).hash.slice(1));
  expect(hash.get("model")).toBe(
    "https://huggingface.co/microsoft/bitnet-b1.58-2B-4T-gguf/resolve/main/ggml-model-i2_s.gguf",
  );
  expect(hash.get("prompt")).toBe("copy me");
  expect(hash.get("temperature")).toBe("0.25");
  await dialog.getByRole("button", { name: "Copy link" }).click();
  await expect(dialog.getByText("Link copied.")).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
  await page.screenshot({ path: "e2e/screenshots/ui-chat-share.png", animations: "disabled" });
  await dialog.getByRole("button", { name: "Close" }).click();
  await page.screenshot({ path: "e2e/screenshots/ui-chat.png", animations: "disabled" });
});

test("model manager: progress with bytes, rate and ETA; pause, resume, cancel; files by picker and drop", async ({
  page,
}) => {
  await page.route(/engine\.worker-[^/]*\.js$/, (route) =>
    route.fulfill({
      body: fakeWorker,
      contentType: "text/javascript",
      headers: { "Cross-Origin-Embedder-Policy": "require-corp" },
    }),
  );
  await page.goto("/");
  await expect(page.getByTestId("engine-status")).toHaveText("ready");
  const panel = page.getByRole("region", { name: "Model" });

  // A bad URL is refused in words.
  await panel.getByRole("textbox", { name: /Add a model by URL/ }).fill("ftp://host/m.gguf");
  await panel.getByRole("button", { name: "Add", exact: true }).click();
  await expect(panel.getByRole("alert")).toContainText(
    'Only http and https model URLs are accepted, not "ftp:"',
  );
  await panel.getByRole("button", { name: "Dismiss the error" }).click();

  // The fake downloads URLs with "slow" in them at 10 MB/s, 40 MB in all.
  await panel
    .getByRole("textbox", { name: /Add a model by URL/ })
    .fill("https://models.example/slow-one.gguf");
  await panel.getByRole("button", { name: "Add", exact: true }).click();
  const progress = panel.getByTestId("download-progress");
  await expect(progress).toHaveText(
    /^\d+\.\d+ MB of 40\.0 MB \(\d+%\) · 10\.0 MB\/s · \d+ s left$/,
  );
  await expect(panel.getByRole("progressbar", { name: "Download of slow-one.gguf" })).toBeVisible();
  await page.screenshot({ path: "e2e/screenshots/ui-download.png", animations: "disabled" });
  await panel.getByRole("button", { name: "Pause" }).click();
  await expect(progress).toHaveText(/of 40\.0 MB \(\d+%\) · paused$/);
  await panel.getByRole("button", { name: "Resume" }).click();
  await expect(progress).toHaveText(/10\.0 MB\/s/);
  await panel.getByRole("button", { name: "Cancel" }).click();
  await expect(progress).toHaveCount(0);
  await expect(panel.getByText("slow-one.gguf")).toHaveCount(0);
  await expect(panel.getByRole("alert")).toHaveCount(0);

  // A local file through the picker: stored, then loaded on its own.
  await panel.getByLabel("Add a GGUF file from this device").setInputFiles({
    name: "picked.gguf",
    mimeType: "application/octet-stream",
    buffer: Buffer.from("GGUF"),
  });
  await expect(page.getByTestId("current-model")).toHaveText("Loaded: picked.gguf");
  // A model from a file has no URL to share.
  await expect(page.getByRole("button", { name: "Share" })).toBeDisabled();

  // And one dropped on the panel; a non-GGUF drop is refused in words.
  const drop = async (name: string) =>
    panel.evaluate((el, fileName) => {
      const data = new DataTransfer();
      data.items.add(new File(["GGUF"], fileName));
      el.dispatchEvent(
        new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }),
      );
    }, name);
  await drop("notes.txt");
  await expect(panel.getByRole("alert")).toContainText('"notes.txt" is not a .gguf file');
  await drop("dropped.gguf");
  await expect(panel.getByText("dropped.gguf")).toBeVisible();
  await expect(panel.getByRole("button", { name: "Load", exact: true })).toBeVisible();
});
