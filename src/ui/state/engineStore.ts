import { create } from "zustand";
import type { Capabilities } from "../../engine/platform/capabilities.ts";
import type { EngineApi } from "../../worker/api.ts";
import { startEngineWorker } from "../../worker/client.ts";

type EngineStatus = "starting" | "ready" | "failed";

/**
 * The one handle on the engine. Every EngineApi method already returns a promise, so the
 * Comlink remote has the same call shape; callbacks are passed with Comlink.proxy.
 */
export type Engine = EngineApi;

interface EngineState {
  status: EngineStatus;
  capabilities?: Capabilities;
  error?: string;
  engine: Engine | null;
  /** Starts (or restarts) the worker and asks it what it can do. */
  start(): Promise<void>;
  /** Uses an engine that is already running (the UI tests' fake engine goes in here). */
  attach(engine: Engine): Promise<void>;
}

let worker: Worker | undefined;

export const useEngineStore = create<EngineState>((set, get) => ({
  status: "starting",
  engine: null,
  async start() {
    worker?.terminate();
    set({ status: "starting", error: undefined, engine: null });
    try {
      const started = startEngineWorker();
      worker = started.worker;
      worker.addEventListener("error", (event) =>
        set({ status: "failed", error: `The engine worker stopped: ${event.message}` }),
      );
      await get().attach(started.engine as unknown as Engine);
    } catch (err) {
      set({ status: "failed", error: `The engine worker did not start: ${errorText(err)}` });
    }
  },
  async attach(engine) {
    const { capabilities } = await engine.ping();
    set({ status: "ready", capabilities, engine, error: undefined });
  },
}));

/** The running engine, or an error in words when there is none. */
export function requireEngine(): Engine {
  const { engine, status, error } = useEngineStore.getState();
  if (engine) return engine;
  throw new Error(
    status === "failed" ? (error ?? "The engine worker failed.") : "The engine is still starting.",
  );
}

/** The message of whatever was thrown (errors crossing Comlink arrive as Error objects). */
export function errorText(err: unknown): string {
  // Some browser refusals are a bare null (WebKit's IndexedDB): never show "null".
  const message =
    err instanceof Error
      ? err.message
      : err === null || err === undefined
        ? "the browser gave no reason"
        : String(err);
  // What Comlink reports when the worker lacks the method called.
  if (/reading 'apply'|is not a function/.test(message))
    return "this engine build does not do that yet.";
  return message;
}
