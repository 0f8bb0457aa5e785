import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";
import { bundleFakeEngine, openWithFakeEngine, routeFakeEngine } from "./support/fake-engine.ts";

// Keyboard, focus, landmarks and layout (issue 17): axe on the main views, focus after
// each action, the phone drawer's focus trap, and no sideways scrolling at 390 px.

let fakeWorker = "";
test.beforeAll(async () => {
  fakeWorker = await bundleFakeEngine();
});
test.use({ serviceWorkers: "block" });

const PHONE = { width: 390, height: 844 };

async function axeViolations(page: Page, name: string): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations.map(
    (v) => `${name}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
}

/** The id and name of whatever has focus. */
function focused(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    return {
      tag: el?.tagName.toLowerCase() ?? "",
      id: el?.id ?? "",
      label: el?.getAttribute("aria-label") ?? el?.textContent?.trim() ?? "",
      inDrawer: el?.closest("aside")?.id ?? "",
    };
  });
}

async function pageWidth(page: Page) {
  return page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    body: document.body.scrollWidth,
    viewport: window.innerWidth,
  }));
}

test("axe finds no violations on the main views, light and dark, desktop and phone", async ({
  page,
}) => {
  const found: string[] = [];
  await openWithFakeEngine(page, fakeWorker);
  found.push(...(await axeViolations(page, "empty chat")));
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill("a table please");
  await box.press("Enter");
  await expect(page.locator(".code-language")).toHaveText("python");
  await box.fill("hello");
  await box.press("Enter");
  await expect(page.getByRole("button", { name: "Regenerate this reply" })).toBeEnabled();
  found.push(...(await axeViolations(page, "chat with replies")));
  await page.locator("details.menu summary").click();
  found.push(...(await axeViolations(page, "export menu open")));
  await page.getByRole("combobox", { name: "Theme" }).selectOption("dark");
  found.push(...(await axeViolations(page, "dark")));

  await page.setViewportSize(PHONE);
  found.push(...(await axeViolations(page, "phone")));
  await page.getByRole("button", { name: "Chats", exact: true }).click();
  found.push(...(await axeViolations(page, "phone chats drawer")));
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: "Model and settings" }).click();
  found.push(...(await axeViolations(page, "phone model drawer")));
  expect(found).toEqual([]);
});

test("at 390 px the page never scrolls sideways, with the drawers shut or open", async ({
  browser,
}) => {
  const context = await browser.newContext({ viewport: PHONE, serviceWorkers: "block" });
  const page = await context.newPage();
  await openWithFakeEngine(page, fakeWorker);
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill("a table please");
  await box.press("Enter");
  await expect(page.locator(".code-language")).toHaveText("python");
  for (const open of [null, "Chats", "Model and settings"]) {
    if (open) await page.getByRole("button", { name: open, exact: true }).click();
    const width = await pageWidth(page);
    expect(width, `drawer: ${open ?? "none"}`).toEqual({ scroll: 390, body: 390, viewport: 390 });
    if (open) await page.keyboard.press("Escape");
  }
  await context.close();
});

test("the open drawer on a phone traps Tab, and Esc closes it and returns focus", async ({
  browser,
}) => {
  const context = await browser.newContext({ viewport: PHONE, serviceWorkers: "block" });
  const page = await context.newPage();
  await openWithFakeEngine(page, fakeWorker);
  for (const [button, drawer] of [
    ["Chats", "chats-drawer"],
    ["Model and settings", "side-drawer"],
  ] as const) {
    const toggle = page.getByRole("button", { name: button, exact: true });
    await toggle.focus();
    await page.keyboard.press("Enter");
    await expect(page.locator(`#${drawer}`)).toBeVisible();
    expect((await focused(page)).inDrawer).toBe(drawer);
    // More Tabs than the drawer has controls, both ways: focus never leaves it.
    for (const key of ["Tab", "Shift+Tab"]) {
      for (let i = 0; i < 45; i++) {
        await page.keyboard.press(key);
        const where = await focused(page);
        expect(where.inDrawer, `${key} ×${i + 1}: on ${where.tag} "${where.label}"`).toBe(drawer);
      }
    }
    await page.keyboard.press("Escape");
    await expect(page.locator(`#${drawer}`)).toBeHidden();
    await expect(toggle).toBeFocused();
  }
  await context.close();
});

test("focus lands on the next sensible control after each action", async ({ page }) => {
  await routeFakeEngine(page, fakeWorker);
  await page.goto("/");
  await expect(page.getByTestId("engine-status")).toHaveText("ready");

  // Starting the built-in model: its button goes away, the composer takes focus.
  await page.getByRole("button", { name: /Try the demo model/ }).click();
  await expect(page.getByTestId("current-model")).toHaveText(/^Loaded: /);
  await expect(page.getByRole("textbox", { name: "Message" })).toBeFocused();

  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill("first");
  await box.press("Enter");
  await expect(page.getByRole("button", { name: "Regenerate this reply" })).toBeEnabled();

  // Edit: the edit box; Esc: back to Edit; Save and send: the composer.
  const edit = page.getByRole("button", { name: "Edit this message and continue from here" });
  await edit.click();
  await expect(page.getByRole("textbox", { name: "Edit message" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(edit).toBeFocused();
  await edit.click();
  await page.getByRole("textbox", { name: "Edit message" }).fill("edited");
  await page.getByRole("button", { name: "Save and send" }).click();
  await expect(box).toBeFocused();

  // New chat: the composer. Rename: the name box, then the renamed chat.
  const chats = page.getByRole("navigation", { name: "Chats" });
  await chats.getByRole("button", { name: "New chat" }).click();
  await expect(box).toBeFocused();
  await chats.getByRole("button", { name: "Rename New chat" }).click();
  const name = chats.getByRole("textbox", { name: "New name for New chat" });
  await expect(name).toBeFocused();
  await name.fill("Second");
  await page.keyboard.press("Enter");
  await expect(chats.getByRole("button", { name: "Second", exact: true })).toBeFocused();
  await chats.getByRole("button", { name: "Rename Second" }).click();
  await page.keyboard.press("Escape");
  await expect(chats.getByRole("button", { name: "Rename Second" })).toBeFocused();

  // Delete: the chat that takes its place.
  page.once("dialog", (d) => d.accept());
  await chats.getByRole("button", { name: "Delete Second" }).click();
  await expect(chats.getByRole("button", { name: "edited", exact: true })).toBeFocused();
  page.once("dialog", (d) => d.accept());
  await chats.getByRole("button", { name: "Delete edited" }).click();
  await expect(chats.getByRole("button", { name: "New chat" })).toBeFocused();
});
