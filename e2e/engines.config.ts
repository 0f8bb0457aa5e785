import { defineConfig } from "@playwright/test";

// The journeys in Firefox ESR and WebKitGTK (e2e/engines/): Playwright's runner, but the
// browsers are Debian's, driven by e2e/support/engines.ts (puppeteer-core over WebDriver
// BiDi, WebKitWebDriver). Each journey file starts its own servers; run `vite build` first.
export default defineConfig({
  testDir: "engines",
  outputDir: "../test-results/engines",
  timeout: 180_000,
  fullyParallel: false,
  workers: 1,
  reporter: [["list"]],
  projects: [
    { name: "firefox", use: { engine: "firefox" } as Record<string, unknown> },
    { name: "webkit", use: { engine: "webkit" } as Record<string, unknown> },
  ],
});
