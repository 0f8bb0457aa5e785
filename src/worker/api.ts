import type { Capabilities } from "../engine/platform/capabilities.ts";

/** A model the store knows about, and how far it has got. */
export interface StoredModel {
  /** Stable id derived from the source (URL or file name + size). */
  id: string;
  name: string;
  /** The URL(s) it comes from; a split GGUF has one per shard, in order. Empty for local files. */
  urls: string[];
  /** Total bytes when known. */
  totalBytes: number | null;
  storedBytes: number;
  state: "downloading" | "paused" | "verifying" | "ready" | "failed";
  /**
   * Why it failed, in words, when state is "failed" (refused bytes, a checksum that does
   * not match, weights that did not load). resumeDownload then retries from the URL.
   */
  error?: string;
}

/** What Trit stores beside the browser's figures for this site (null where it has no Storage API). */
export interface StorageFigures {
  /** Bytes of models stored (every stored byte, finished or not). */
  modelBytes: number;
  usedBytes: number | null;
  quotaBytes: number | null;
  /** Whether the browser keeps this site's data when space runs low; null when it will not say. */
  persisted: boolean | null;
}

export interface DownloadProgress {
  modelId: string;
  bytes: number;
  total: number | null;
  /** Bytes per second over the last few seconds. */
  rate: number;
  /** Seconds left at the current rate, when the total is known. */
  etaSeconds: number | null;
  state: StoredModel["state"];
  /** Something the user should know that is not an error (e.g. the server ignored Range). */
  note?: string;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface SamplingSettings {
  /** 0 means greedy. */
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  maxTokens: number;
  seed: number;
}

export interface GenerationStats {
  promptTokens: number;
  /** Prompt tokens actually prefilled (fewer when the KV cache was reused). */
  prefilledTokens: number;
  generatedTokens: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  stopReason: "end-of-turn" | "max-tokens" | "aborted" | "context-full";
}

export interface LoadedModelInfo {
  modelId: string;
  architecture: string;
  parameters: number;
  contextLength: number;
  /** Which kernel build runs: "relaxed-simd", "simd128" or "scalar". */
  kernel: string;
  threads: number;
  /**
   * Where the logits come from: the exact head (the tied f16 or f32 embedding) or its
   * int8 copy (one scale per row; half the bytes of f16 per token, so faster, approximate).
   */
  head: "f16" | "f32" | "int8";
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
  loadModel(modelId: string, onProgress?: (fraction: number) => void): Promise<LoadedModelInfo>;
  /**
   * Generates a reply to `messages`; `onPiece` gets each decoded text piece (valid UTF-8).
   * `conversationId` lets the engine keep the KV cache between turns of one conversation.
   */
  generate(
    conversationId: string,
    messages: ChatMessage[],
    settings: SamplingSettings,
    onPiece: (text: string) => void,
  ): Promise<GenerationStats>;
  /** Switches the loaded model's output head to its int8 copy (made the first time) or back. */
  setInt8Head(on: boolean): Promise<LoadedModelInfo>;
  /** Stops the running generation; generate() then resolves with stopReason "aborted". */
  abortGeneration(): Promise<void>;
}
