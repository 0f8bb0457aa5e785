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
  // beside the next page's while it loads the model again. A page kept in the
  // back/forward cache too: WebKit pauses its workers there, and a storage transaction
  // paused mid-way holds its store for every other page of the site (src/ui/pageCache.ts).
  globalThis.addEventListener?.("pagehide", () => worker.terminate());
  return { engine: Comlink.wrap<EngineApi>(worker), worker };
}
