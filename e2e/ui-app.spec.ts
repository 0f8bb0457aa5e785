import { type Browser, expect, type Page, test } from "@playwright/test";
import { savedConversations } from "./support/app.ts";

// The chat UI without a model: conversations, theme, share links, offline shell, layout.
// (Chatting itself needs the engine; the stores' streaming logic is unit-tested with a fake.)

async function openFresh(page: Page, path = "/") {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.goto(path);
  await expect(page.getByRole("heading", { name: "Trit" })).toBeVisible();
  await expect(page.getByTestId("engine-status")).toHaveText(/ready|failed/);
  return errors;
}

test("conversations: create, rename, search, delete, and they survive a reload", async ({
  page,
}) => {
  const errors = await openFresh(page);
  const chats = page.getByRole("navigation", { name: "Chats" });

  await chats.getByRole("button", { name: "New chat" }).click();
  await chats.getByRole("button", { name: "Rename New chat" }).click();
  await chats.getByRole("textbox", { name: "New name for New chat" }).fill("Bread recipes");
  await chats.getByRole("button", { name: "Save" }).click();
  await chats.getByRole("button", { name: "New chat" }).click();
  await chats.getByRole("button", { name: "Rename New chat" }).click();
  await chats.getByRole("textbox", { name: "New name for New chat" }).fill("Rust lifetimes");
  await page.keyboard.press("Enter");

  await expect(chats.getByRole("button", { name: "Bread recipes", exact: true })).toBeVisible();
  await chats.getByRole("searchbox", { name: "Search chats" }).fill("rust");
  await expect(chats.getByRole("button", { name: "Rust lifetimes", exact: true })).toBeVisible();
  await expect(chats.getByRole("button", { name: "Bread recipes", exact: true })).toHaveCount(0);
  await chats.getByRole("searchbox", { name: "Search chats" }).fill("");

  await page.reload();
  await expect(chats.getByRole("button", { name: "Bread recipes", exact: true })).toBeVisible();
  await expect(chats.getByRole("button", { name: "Rust lifetimes", exact: true })).toBeVisible();

  page.once("dialog", (d) => d.accept());
  await chats.getByRole("button", { name: "Delete Bread recipes" }).click();
  await expect(chats.getByRole("button", { name: "Bread recipes", exact: true })).toHaveCount(0);
  await page.reload();
  await expect(chats.getByRole("button", { name: "Rust lifetimes", exact: true })).toBeVisible();
  await expect(chats.getByRole("button", { name: "Bread recipes", exact: true })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("per-chat settings are checked in words and kept", async ({ page }) => {
  await openFresh(page);
  await page.getByRole("button", { name: "New chat" }).click();
  const temperature = page.getByRole("spinbutton", { name: "Temperature" });
  await temperature.fill("5");
  await expect(page.getByText("Temperature must be between 0 and 2.")).toBeVisible();
  await temperature.fill("0.2");
  await page.getByRole("textbox", { name: "System prompt" }).fill("Answer like a pirate.");
  // Saving is asynchronous (a merge inside an IndexedDB transaction): reload once it landed.
  await expect
    .poll(async () => (await savedConversations(page)).map((c) => c.systemPrompt))
    .toContain("Answer like a pirate.");
  await page.reload();
  await expect(page.getByRole("spinbutton", { name: "Temperature" })).toHaveValue("0.2");
  await expect(page.getByRole("textbox", { name: "System prompt" })).toHaveValue(
    "Answer like a pirate.",
  );
});

test("the theme can be chosen and is remembered", async ({ page }) => {
  await openFresh(page);
  await page.getByRole("combobox", { name: "Theme" }).selectOption("dark");
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
  await page.reload();
  await expect(page.getByRole("combobox", { name: "Theme" })).toHaveValue("dark");
  const background = await page.evaluate(
    () => getComputedStyle(document.documentElement).backgroundColor,
  );
  expect(background).toBe("rgb(21, 21, 23)");
});

test("a share link with a javascript: model is refused in words", async ({ page }) => {
  let alerted = false;
  page.on("dialog", async (d) => {
    alerted = true;
    await d.dismiss();
  });
  await openFresh(page, "/#model=javascript%3Aalert(1)");
  const dialog = page.getByRole("dialog", { name: "Share link not opened" });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText("Only http and https model URLs are accepted");
  await dialog.getByRole("button", { name: "OK" }).click();
  await expect(dialog).toHaveCount(0);
  expect(alerted).toBe(false);
  expect(page.url()).not.toContain("model=");
});

test("a share link shows source and size, renders its text as text, and downloads nothing until asked", async ({
  page,
}) => {
  const requests: string[] = [];
  page.on("request", (r) => {
    if (r.method() === "GET") requests.push(r.url());
  });
  const name = '<img src=x onerror="window.__pwned=1">';
  const model = "https://models.invalid/some/model.gguf";
  await openFresh(
    page,
    `/#model=${encodeURIComponent(model)}&name=${encodeURIComponent(name)}&prompt=Hello&temperature=0.3`,
  );
  const dialog = page.getByRole("dialog", { name: "Open a shared model?" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId("share-name")).toHaveText(name);
  await expect(dialog.getByTestId("share-host")).toHaveText("models.invalid");
  await expect(dialog.getByTestId("share-url")).toHaveText(model);
  await expect(dialog.getByTestId("share-size")).toHaveText("unknown until the download starts");
  expect(await dialog.locator("img").count()).toBe(0);
  expect(
    await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned),
  ).toBeUndefined();
  await dialog.getByRole("button", { name: "Not now" }).click();
  await expect(dialog).toHaveCount(0);
  // At most a HEAD asked for the size: the model itself was never fetched.
  expect(requests.filter((u) => u.startsWith(model))).toEqual([]);
});

test("every control has an accessible name", async ({ page }) => {
  await openFresh(page);
  await page.getByRole("button", { name: "New chat" }).click();
  const unnamed = await page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>(
      "button, input, select, textarea, a[href]",
    )) {
      const labelled =
        el.getAttribute("aria-label") ||
        el.getAttribute("aria-labelledby") ||
        ((el as HTMLInputElement).labels?.length ?? 0) > 0 ||
        (el.tagName === "BUTTON" || el.tagName === "A" ? el.textContent?.trim() : "");
      if (!labelled) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
  expect(unnamed).toEqual([]);
});

test("the app shell is precached and opens with the network off", async ({ page, context }) => {
  await openFresh(page);
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  // Wait until the worker controls the page and has filled its cache.
  await expect
    .poll(async () =>
      page.evaluate(async () => {
        const names = (await caches.keys()).filter((n) => n.startsWith("trit-shell-"));
        if (names.length === 0) return 0;
        return (await (await caches.open(names[0])).keys()).length;
      }),
    )
    .toBeGreaterThan(5);
  const cached = await page.evaluate(async () => {
    const [name] = (await caches.keys()).filter((n) => n.startsWith("trit-shell-"));
    return (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
  });
  expect(cached).toContain("/index.html");
  expect(cached.some((p) => /\/assets\/index-.*\.js$/.test(p))).toBe(true);
  expect(cached.some((p) => /engine\.worker-.*\.js$/.test(p))).toBe(true);

  await context.setOffline(true);
  await page.reload();
  await expect(page.getByRole("heading", { name: "Trit" })).toBeVisible();
  await expect(page.getByRole("textbox", { name: "Message" })).toBeVisible();
  // The worker's copy still makes the page cross-origin isolated.
  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);
  await expect(page.getByTestId("engine-status")).toHaveText("ready");
  await context.setOffline(false);
});

test("the app is installable: a linked manifest with icons that exist", async ({
  page,
  request,
}) => {
  await openFresh(page);
  const href = await page.locator('link[rel="manifest"]').getAttribute("href");
  expect(href).toBeTruthy();
  const manifestUrl = new URL(href as string, page.url()).href;
  const manifest = await (await request.get(manifestUrl)).json();
  expect(manifest).toMatchObject({
    name: expect.stringContaining("Trit"),
    short_name: "Trit",
    display: "standalone",
  });
  const sizes = manifest.icons.map((i: { sizes: string }) => i.sizes);
  expect(sizes).toEqual(expect.arrayContaining(["192x192", "512x512"]));
  for (const icon of manifest.icons as { src: string; type: string }[]) {
    const response = await request.get(new URL(icon.src, manifestUrl).href);
    expect(response.ok(), icon.src).toBe(true);
    expect(response.headers()["content-type"]).toContain(icon.type.split("+")[0]);
  }
  const active = await page.evaluate(
    async () => (await navigator.serviceWorker.ready).active?.state,
  );
  expect(active).toMatch(/activat/);
});

async function shoot(browser: Browser, name: string, width: number, scheme: "light" | "dark") {
  const context = await browser.newContext({
    viewport: { width, height: 820 },
    colorScheme: scheme,
  });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.getByTestId("engine-status")).toHaveText(/ready|failed/);
  if (width >= 760) await page.getByRole("button", { name: "New chat" }).click();
  await page.screenshot({ path: `e2e/screenshots/ui-${name}.png`, animations: "disabled" });
  if (width < 760) {
    await page.getByRole("button", { name: "Chats" }).click();
    await page.screenshot({ path: `e2e/screenshots/ui-${name}-chats.png`, animations: "disabled" });
    await page.keyboard.press("Escape");
    await expect(page.getByRole("heading", { name: "Chats" })).toBeHidden();
    await page.getByRole("button", { name: "Model and settings" }).click();
    await expect(page.getByRole("heading", { name: "Model" })).toBeVisible();
    await page.screenshot({ path: `e2e/screenshots/ui-${name}-model.png`, animations: "disabled" });
  }
  await context.close();
}

test("screenshots at desktop and phone widths, light and dark", async ({ browser }) => {
  await shoot(browser, "desktop-light", 1280, "light");
  await shoot(browser, "desktop-dark", 1280, "dark");
  await shoot(browser, "phone-light", 390, "light");
  await shoot(browser, "phone-dark", 390, "dark");
});
