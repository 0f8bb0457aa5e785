// The benchmark page: runs Trit's engine in a Worker (the real engine path: the pool's
// threads are nested Workers sharing one wasm Memory) and publishes the result for the
// Playwright driver (scripts/bench/browser.ts) as window.__bench.
import { benchFlags } from "../run-trit.ts";

const params = new URLSearchParams(location.search);
const out = document.getElementById("out") as HTMLElement;
const state = window as unknown as {
  __bench?: unknown;
  __benchStage?: { stage: string; at: number };
};
state.__benchStage = { stage: "page started", at: Date.now() };
const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
worker.onmessage = (e) => {
  if (typeof e.data?.stage === "string") {
    state.__benchStage = { stage: e.data.stage, at: Date.now() };
    return;
  }
  state.__bench = e.data;
  out.textContent = JSON.stringify(e.data, null, 2);
};
worker.onerror = (e) => {
  state.__bench = { error: e.message };
};
worker.postMessage({
  modelUrl: params.get("model") ?? "/model.gguf",
  threads: Number(params.get("threads") ?? 2),
  promptTokens: Number(params.get("prompt") ?? 64),
  genTokens: Number(params.get("gen") ?? 32),
  build: params.get("build") || undefined,
  ...benchFlags(params.get("flags") ?? ""),
  context: Number(params.get("context") ?? 0),
  longPrompt: Number(params.get("longPrompt") ?? 0),
  longGen: Number(params.get("longGen") ?? 16),
  kernels: params.has("kernels"),
  forms: params.has("forms"),
  compare: params.has("compare"),
  check: params.has("check"),
  crossOriginIsolated: globalThis.crossOriginIsolated,
});
