import { expect, type Page } from "@playwright/test";
import { build } from "vite";

/**
 * The FAKE engine worker (src/ui/state/testing/fakeEngine.worker.ts), bundled once per
 * spec file and served in place of the real one: the UI journeys run without a model.
 */
export async function bundleFakeEngine(): Promise<string> {
  let code = "";
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
    for (const chunk of out.output) if (chunk.type === "chunk") code += chunk.code;
  }
  expect(code).toContain("abortGeneration");
  return code;
}

/** Serves the fake in place of the engine worker for this page. */
export async function routeFakeEngine(page: Page, code: string): Promise<void> {
  await page.route(/engine\.worker-[^/]*\.js$/, (route) =>
    route.fulfill({
      body: code,
      contentType: "text/javascript",
      // A worker under a cross-origin isolated page must say it accepts the same policy.
      headers: { "Cross-Origin-Embedder-Policy": "require-corp" },
    }),
  );
}

/**
 * Opens the app on the fake engine and has it "download" and load the published model
 * (instant). Returns the page errors seen, for the test to check at the end.
 */
export async function openWithFakeEngine(page: Page, code: string): Promise<string[]> {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await routeFakeEngine(page, code);
  await page.goto("/");
  await expect(page.getByTestId("engine-status")).toHaveText("ready");
  await page
    .getByRole("button", { name: /Download BitNet b1\.58 2B4T/ })
    .first()
    .click();
  await expect(page.getByTestId("current-model")).toHaveText(/Loaded: ggml-model-i2_s\.gguf/);
  return errors;
}
