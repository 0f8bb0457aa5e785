import type * as Comlink from "comlink";
import { create } from "zustand";
import type { Capabilities } from "../../engine/platform/capabilities.ts";
import type { EngineApi } from "../../worker/api.ts";
import { startEngineWorker } from "../../worker/client.ts";

type EngineStatus = "starting" | "ready" | "failed";

interface EngineState {
  status: EngineStatus;
  capabilities?: Capabilities;
  error?: string;
  /** Starts (or restarts) the worker and asks it what it can do. */
  start(): Promise<void>;
}

let current: { engine: Comlink.Remote<EngineApi>; worker: Worker } | undefined;

export const useEngineStore = create<EngineState>((set) => ({
  status: "starting",
  async start() {
    current?.worker.terminate();
    set({ status: "starting", error: undefined });
    try {
      current = startEngineWorker();
      current.worker.addEventListener("error", (event) =>
        set({ status: "failed", error: `The engine worker stopped: ${event.message}` }),
      );
      const { capabilities } = await current.engine.ping();
      set({ status: "ready", capabilities });
    } catch (err) {
      set({ status: "failed", error: `The engine worker did not start: ${String(err)}` });
    }
  },
}));
