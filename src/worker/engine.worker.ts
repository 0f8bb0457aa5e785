import * as Comlink from "comlink";
import { detectCapabilities } from "../engine/platform/capabilities.ts";
import type { EngineApi } from "./api.ts";

const engine: EngineApi = {
  async ping() {
    return { pong: true, capabilities: await detectCapabilities() };
  },
};

Comlink.expose(engine);
