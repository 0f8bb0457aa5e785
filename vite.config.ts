/// <reference types="vitest/config" />
import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";
import { VitePWA } from "vite-plugin-pwa";

import { ISOLATION_HEADERS } from "./src/ui/pwa/isolationHeaders.ts";

// Threads need SharedArrayBuffer, which needs a cross-origin isolated page.
const crossOriginIsolation = { ...ISOLATION_HEADERS };

/**
 * The tiny random-weight test model (`npm run models -- --tiny` writes models/tiny-i2_s.gguf;
 * run here when it is missing), served at /models/ by the dev and preview servers only, for
 * the e2e journeys that need a big same-origin file. It is not part of the build: the app's
 * built-in model is the trained demo model in public/demo/ (modelCatalog.ts, scripts/demo-model/).
 */
const TEST_MODEL = "tiny-i2_s.gguf";
function testModelOnLocalServers(): Plugin {
  const file = join("models", TEST_MODEL);
  const serve = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== `/models/${TEST_MODEL}` || !["GET", "HEAD"].includes(req.method ?? "")) {
      next();
      return;
    }
    res.setHeader("Content-Type", "application/octet-stream");
    res.setHeader("Content-Length", String(statSync(file).size));
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  };
  return {
    name: "trit-test-model",
    buildStart() {
      if (!existsSync(file)) {
        execFileSync(process.execPath, ["--import", "tsx", "scripts/make-models.ts", "--tiny"], {
          stdio: "inherit",
        });
      }
    },
    configureServer(server) {
      server.middlewares.use(serve);
    },
    configurePreviewServer(server) {
      server.middlewares.use(serve);
    },
  };
}

export default defineConfig({
  plugins: [
    react(),
    testModelOnLocalServers(),
    VitePWA({
      // A hand-written worker (src/ui/pwa/sw.ts): it also adds COOP/COEP on static hosts.
      strategies: "injectManifest",
      srcDir: "src/ui/pwa",
      filename: "sw.ts",
      injectRegister: false,
      manifest: {
        name: "Trit — BitNet chat on your own CPU",
        short_name: "Trit",
        description: "Chat with BitNet b1.58 2B4T privately, on your own CPU, in the browser.",
        start_url: ".",
        scope: ".",
        display: "standalone",
        background_color: "#fbfbfa",
        theme_color: "#3a5bd9",
        icons: [
          { src: "icon-192.png", sizes: "192x192", type: "image/png" },
          { src: "icon-512.png", sizes: "512x512", type: "image/png" },
          {
            src: "icon-maskable-512.png",
            sizes: "512x512",
            type: "image/png",
            purpose: "maskable",
          },
          { src: "icon.svg", sizes: "any", type: "image/svg+xml" },
        ],
      },
      injectManifest: {
        // The app shell, the wasm kernels and the built-in demo model (so the app chats
        // offline from the first visit); no other model files (they live in IndexedDB).
        globPatterns: ["**/*.{js,css,html,svg,png,wasm,webmanifest}", "demo/*.gguf"],
        globIgnores: ["models/**"],
        maximumFileSizeToCacheInBytes: 32 * 1024 * 1024,
      },
      devOptions: { enabled: false },
    }),
  ],
  server: { headers: crossOriginIsolation },
  preview: { headers: crossOriginIsolation },
  worker: { format: "es" },
  build: { target: "es2022" },
  test: {
    include: [
      "src/**/*.test.ts",
      "scripts/**/*.test.ts",
      "test-support/**/*.test.ts",
      "wasm-kernels/**/*.test.ts",
    ],
    testTimeout: 60_000,
    // Setup hooks load llama.cpp or build models: on a busy 2-core machine they take over 10 s.
    hookTimeout: 60_000,
  },
});
