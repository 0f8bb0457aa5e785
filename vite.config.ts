/// <reference types="vitest/config" />
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";
import { VitePWA } from "vite-plugin-pwa";

// Threads need SharedArrayBuffer, which needs a cross-origin isolated page.
// `credentialless` (not `require-corp`) so that model URLs on other hosts still load.
const crossOriginIsolation = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "credentialless",
};

/**
 * The tiny random-weight test model: `npm run models -- --tiny` writes models/tiny-i2_s.gguf
 * (run here when it is missing); this copies it into public/models/ (git-ignored) so the
 * e2e journeys that need a big same-origin file find it at /models/. The app's built-in
 * model is the trained demo model in public/demo/ (modelCatalog.ts, scripts/demo-model/).
 */
const BUILT_IN_MODEL = "tiny-i2_s.gguf";
function builtInTinyModel(): Plugin {
  return {
    name: "trit-builtin-tiny-model",
    buildStart() {
      const source = join("models", BUILT_IN_MODEL);
      if (!existsSync(source)) {
        execFileSync(process.execPath, ["--import", "tsx", "scripts/make-models.ts", "--tiny"], {
          stdio: "inherit",
        });
      }
      const target = join("public", "models", BUILT_IN_MODEL);
      mkdirSync(join("public", "models"), { recursive: true });
      if (!existsSync(target) || statSync(target).mtimeMs < statSync(source).mtimeMs)
        copyFileSync(source, target);
    },
  };
}

export default defineConfig({
  plugins: [
    react(),
    builtInTinyModel(),
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
    include: ["src/**/*.test.ts", "scripts/**/*.test.ts", "wasm-kernels/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
