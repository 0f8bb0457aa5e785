/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Threads need SharedArrayBuffer, which needs a cross-origin isolated page.
// `credentialless` (not `require-corp`) so that model URLs on other hosts still load.
const crossOriginIsolation = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "credentialless",
};

export default defineConfig({
  plugins: [react()],
  server: { headers: crossOriginIsolation },
  preview: { headers: crossOriginIsolation },
  worker: { format: "es" },
  build: { target: "es2022" },
  test: {
    include: ["src/**/*.test.ts", "scripts/**/*.test.ts", "wasm-kernels/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
