import type { ChatMessage } from "../engine/chat/template.ts";
import type { ChatTurnStats } from "../engine/generate/chat-session.ts";
import type { GenerationStats } from "../engine/generate/generate.ts";
import type { KernelBuild } from "../engine/kernels/index.ts";
import type { EngineMemory, MemoryPlan } from "../engine/memory.ts";
import type { Capabilities } from "../engine/platform/capabilities.ts";
import type { SamplingSettings } from "../engine/sampling/sampler.ts";
import type { DownloadProgress, StorageFigures, StoredModel } from "../storage/model-types.ts";

// Values the UI shares with the engine and the store, so there is one of each.
export { DEFAULT_SAMPLING, RANDOM_SEED, resolveSeed } from "../engine/sampling/defaults.ts";
export { errorText, formatBytes } from "../storage/words.ts";

// The types the UI needs, from the modules that own them: the UI imports them from here.
export type {
  Capabilities,
  ChatMessage,
  ChatTurnStats,
  DownloadProgress,
  EngineMemory,
  GenerationStats,
  KernelBuild,
  MemoryPlan,
  SamplingSettings,
  StorageFigures,
  StoredModel,
};

export interface LoadedModelInfo {
  modelId: string;
  architecture: string;
  parameters: number;
  contextLength: number;
  /** Which kernel build runs. */
  kernel: KernelBuild;
  threads: number;
  /**
   * Where the logits come from: the exact head (the tied f16 or f32 embedding) or its
   * int8 copy (one scale per row; half the bytes of f16 per token, so faster, approximate).
   */
  head: "f16" | "f32" | "int8";
  /** The engine's memory once loaded (it grows when the int8 head is made). */
  memory: EngineMemory;
}

/**
 * The one facade the UI talks to. The engine worker implements it and exposes it
 * with Comlink; the UI holds a Comlink.Remote of it (see client.ts). Callbacks are
 * passed with Comlink.proxy.
 */
export interface EngineApi {
  /** Answers at once with what the worker's context can do. */
  ping(): Promise<{ pong: true; capabilities: Capabilities }>;

  // Model store
  listModels(): Promise<StoredModel[]>;
  /** Starts (or resumes) downloading a GGUF by URL, or a split set given as its shard URLs. */
  addModelFromUrl(urls: string[], onProgress: (p: DownloadProgress) => void): Promise<StoredModel>;
  /** Stores a GGUF the user picked or dropped. */
  addModelFromFile(file: File, onProgress: (p: DownloadProgress) => void): Promise<StoredModel>;
  pauseDownload(modelId: string): Promise<void>;
  resumeDownload(modelId: string, onProgress: (p: DownloadProgress) => void): Promise<StoredModel>;
  cancelDownload(modelId: string): Promise<void>;
  deleteModel(modelId: string): Promise<void>;
  storageEstimate(): Promise<StorageFigures>;

  // Engine
  /**
   * What loading a stored model would take in wasm memory (from its config and size),
   * and whether it fits under the 4 GiB wasm32 ceiling: asked before loadModel.
   */
  planMemory(modelId: string): Promise<MemoryPlan>;
  loadModel(modelId: string, onProgress?: (fraction: number) => void): Promise<LoadedModelInfo>;
  /**
   * Generates a reply to `messages`; `onPiece` gets each decoded text piece (valid UTF-8).
   * `conversationId` lets the engine keep the KV cache between turns of one conversation.
   * When the conversation outgrows the context, its oldest turns fall out of the model's
   * view (the system prompt stays); the stats say how many messages.
   */
  generate(
    conversationId: string,
    messages: ChatMessage[],
    settings: SamplingSettings,
    onPiece: (text: string) => void,
  ): Promise<ChatTurnStats>;
  /** Switches the loaded model's output head to its int8 copy (made the first time) or back. */
  setInt8Head(on: boolean): Promise<LoadedModelInfo>;
  /** Stops the running generation; generate() then resolves with stopReason "aborted". */
  abortGeneration(): Promise<void>;
}
