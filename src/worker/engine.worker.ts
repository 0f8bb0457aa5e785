import * as Comlink from "comlink";
import { detectCapabilities } from "../engine/platform/capabilities.ts";
import type { EngineApi } from "./api.ts";

// Grows into the whole EngineApi as the store and the engine land.
const engine: Pick<EngineApi, "ping"> = {
  async ping() {
    return { pong: true, capabilities: await detectCapabilities() };
  },
};

Comlink.expose(engine);
