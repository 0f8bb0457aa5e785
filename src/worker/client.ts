import * as Comlink from "comlink";
import type { EngineApi } from "./api.ts";

/** Starts the engine worker and returns its Comlink facade. */
export function startEngineWorker(): { engine: Comlink.Remote<EngineApi>; worker: Worker } {
  const worker = new Worker(new URL("./engine.worker.ts", import.meta.url), {
    type: "module",
    name: "trit-engine",
  });
  // A page that goes away (reload, navigation) ends the worker and its kernel threads at
  // once: else their wasm memory (the whole model) lives on until they are collected,
  // beside the next page's while it loads the model again.
  globalThis.addEventListener?.("pagehide", (e) => {
    if (!(e as PageTransitionEvent).persisted) worker.terminate();
  });
  return { engine: Comlink.wrap<EngineApi>(worker), worker };
}
