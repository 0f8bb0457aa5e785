import * as Comlink from "comlink";
import type { EngineApi } from "./api.ts";

/** Starts the engine worker and returns its Comlink facade. */
export function startEngineWorker(): { engine: Comlink.Remote<EngineApi>; worker: Worker } {
  const worker = new Worker(new URL("./engine.worker.ts", import.meta.url), {
    type: "module",
    name: "trit-engine",
  });
  return { engine: Comlink.wrap<EngineApi>(worker), worker };
}
