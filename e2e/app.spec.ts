import { expect, test } from "@playwright/test";

test("the app renders, the engine worker answers, and the page is cross-origin isolated", async ({
  page,
}) => {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));

  const response = await page.goto("/");
  expect(response?.headers()["cross-origin-opener-policy"]).toBe("same-origin");
  expect(response?.headers()["cross-origin-embedder-policy"]).toBe("require-corp");

  await expect(page.getByRole("heading", { name: "Trit" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Model" })).toBeVisible();
  await expect(page.getByRole("textbox", { name: "Message" })).toBeVisible();

  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);
  await expect(page.getByTestId("page-isolated")).toHaveText("yes");

  // The worker's own answer, compared with what the page itself can detect.
  await expect(page.getByTestId("engine-status")).toHaveText("ready");
  const truth = await page.evaluate(() => ({
    threads: navigator.hardwareConcurrency,
    simd: WebAssembly.validate(
      new Uint8Array([
        0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0,
        253, 15, 253, 98, 11,
      ]),
    ),
  }));
  await expect(page.getByTestId("cap-sab")).toHaveText("yes");
  await expect(page.getByTestId("cap-threads")).toHaveText(String(truth.threads));
  await expect(page.getByTestId("cap-simd")).toHaveText(truth.simd ? "yes" : "no");
  await expect(page.getByTestId("cap-relaxed")).toHaveText(/yes|no/);

  await page.screenshot({ path: "e2e/screenshots/app-shell.png", fullPage: true });
  expect(errors).toEqual([]);
});

test("a crashed engine worker is reported in words and restarts", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByTestId("engine-status")).toHaveText("ready");
  const worker = page.workers().find((w) => w.url().includes("engine.worker"));
  expect(worker).toBeDefined();
  // An uncaught error inside the worker: what a kernel trap outside a call looks like.
  await worker?.evaluate(() => {
    setTimeout(() => {
      throw new Error("simulated crash");
    });
  });
  const alert = page.getByRole("alert").filter({ hasText: "simulated crash" });
  await expect(alert).toContainText("Your chats and stored models are safe");
  await page.screenshot({ path: "e2e/screenshots/engine-crashed.png", fullPage: true });
  await alert.getByRole("button", { name: "Restart the engine" }).click();
  await expect(page.getByTestId("engine-status")).toHaveText("ready");
  await expect(page.getByRole("button", { name: "Restart the engine" })).toHaveCount(0);
});
