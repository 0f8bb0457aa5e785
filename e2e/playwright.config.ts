import { defineConfig } from "@playwright/test";

// Playwright cannot download its own browser on these machines: it drives Debian's
// chromium (scripts/ensure-browsers.sh installs it) by path.
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const port = Number(process.env.E2E_PORT ?? 4173);

export default defineConfig({
  testDir: ".",
  // Firefox and WebKit run e2e/engines/ under their own config (engines.config.ts).
  testIgnore: "engines/**",
  outputDir: "../test-results",
  timeout: 120_000,
  fullyParallel: false,
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      executablePath,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    headless: true,
  },
  // The production build, served the way a user gets it (with COOP/COEP headers).
  webServer: {
    command: `npx vite preview --host 127.0.0.1 --port ${port} --strictPort`,
    cwd: "..",
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
