import type { Capabilities } from "../engine/platform/capabilities.ts";

/**
 * The one facade the UI talks to. The engine worker implements it and exposes it
 * with Comlink; the UI holds a Comlink.Remote of it (see client.ts).
 */
export interface EngineApi {
  /** Answers at once with what the worker's context can do. */
  ping(): Promise<{ pong: true; capabilities: Capabilities }>;
}
