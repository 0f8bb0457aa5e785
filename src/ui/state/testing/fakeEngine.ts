import type {
  ChatMessage,
  ChatTurnStats,
  DownloadProgress,
  EngineApi,
  LoadedModelInfo,
  MemoryPlan,
  SamplingSettings,
  StoredModel,
} from "../../../worker/api.ts";

/**
 * A FAKE engine for the UI's unit tests only (never imported by the app): it streams the
 * pieces it is told to, records what the UI asked for, and keeps models in memory.
 */
export class FakeEngine implements EngineApi {
  /** What generate() received, call by call. */
  calls: { conversationId: string; messages: ChatMessage[]; settings: SamplingSettings }[] = [];
  /** The reply each generate() streams, piece by piece. */
  reply: string[] = ["Hello", ", ", "world", "!"];
  /** Milliseconds between pieces. */
  pieceDelay = 1;
  /**
   * When set, the last piece is sent this many ms after generate() resolves, as can happen
   * over Comlink (callbacks travel on their own port).
   */
  lastPieceLateMs: number | null = null;
  /** When set, generate() throws this message after the first piece. */
  failWith: string | null = null;
  models: StoredModel[] = [];
  private aborted = false;

  async ping() {
    return {
      pong: true as const,
      capabilities: {
        hardwareThreads: 2,
        sharedArrayBuffer: true,
        crossOriginIsolated: true,
        wasmThreads: true,
        wasmSimd: true,
        wasmRelaxedSimd: false,
        singleThreadReason: null,
      },
    };
  }

  async listModels() {
    return this.models.map((m) => ({ ...m }));
  }

  /**
   * Bytes per progress step and ms between steps; URLs containing "slow" take 40 steps,
   * URLs containing "huge" are 5 GB (too big for wasm32) in 4 quick steps.
   */
  downloadStepMs = 1;
  private step(url: string | undefined): { total: number; bytes: number; ms: number } {
    if (url?.includes("slow")) return { total: 40_000_000, bytes: 1_000_000, ms: 100 };
    if (url?.includes("huge"))
      return { total: 5_000_000_000, bytes: 1_250_000_000, ms: this.downloadStepMs };
    return { total: 1000, bytes: 250, ms: this.downloadStepMs };
  }
  private pausing = new Set<string>();
  private cancelling = new Set<string>();

  async addModelFromUrl(urls: string[], onProgress: (p: DownloadProgress) => void) {
    const step = this.step(urls[0]);
    const model: StoredModel = {
      id: `url:${urls[0]}`,
      name: (urls[0].split("/").at(-1) ?? "model").replace(/^file:/, ""),
      urls: urls[0].startsWith("file:") ? [] : urls,
      totalBytes: step.total,
      storedBytes: 0,
      state: "downloading",
    };
    this.models.push(model);
    return this.fill(model, step.bytes, step.ms, onProgress);
  }

  /** Stores `step` bytes at a time, honouring pause and cancel between steps. */
  private async fill(
    model: StoredModel,
    step: number,
    delay: number,
    onProgress: (p: DownloadProgress) => void,
  ): Promise<StoredModel> {
    const total = model.totalBytes ?? 0;
    model.state = "downloading";
    while (model.storedBytes < total) {
      await sleep(delay);
      if (this.cancelling.delete(model.id)) throw new Error("The download was cancelled.");
      if (this.pausing.delete(model.id)) {
        model.state = "paused";
        onProgress({
          modelId: model.id,
          bytes: model.storedBytes,
          total,
          rate: 0,
          etaSeconds: null,
          state: "paused",
        });
        return { ...model };
      }
      model.storedBytes = Math.min(total, model.storedBytes + step);
      const rate = (step * 1000) / delay;
      onProgress({
        modelId: model.id,
        bytes: model.storedBytes,
        total,
        rate,
        etaSeconds: (total - model.storedBytes) / rate,
        state: "downloading",
      });
    }
    model.state = "ready";
    return { ...model };
  }

  async addModelFromFile(file: File, onProgress: (p: DownloadProgress) => void) {
    return this.addModelFromUrl([`file:${file.name}`], onProgress);
  }
  async pauseDownload(modelId: string) {
    this.pausing.add(modelId);
  }
  async resumeDownload(
    modelId: string,
    onProgress: (p: DownloadProgress) => void,
  ): Promise<StoredModel> {
    const model = this.models.find((m) => m.id === modelId);
    if (!model) throw new Error(`No model ${modelId}.`);
    const step = this.step(model.urls[0]);
    return this.fill(model, step.bytes, step.ms, onProgress);
  }
  async cancelDownload(modelId: string) {
    const model = this.models.find((m) => m.id === modelId);
    if (model?.state === "downloading") this.cancelling.add(modelId);
    this.models = this.models.filter((m) => m.id !== modelId);
  }
  async deleteModel(modelId: string) {
    this.models = this.models.filter((m) => m.id !== modelId);
  }
  async storageEstimate() {
    const stored = this.models.reduce((n, m) => n + m.storedBytes, 0);
    return {
      modelBytes: stored,
      usedBytes: stored,
      quotaBytes: 1e9,
      persisted: true,
    };
  }

  /** The file plus a 25 MB KV cache and 64 MiB of working memory, against 4 GiB. */
  async planMemory(modelId: string): Promise<MemoryPlan> {
    const model = this.models.find((m) => m.id === modelId);
    if (!model) throw new Error(`No model ${modelId}.`);
    const weightsBytes = model.totalBytes ?? 0;
    const totalBytes = weightsBytes + 25_000_000 + 64 * 2 ** 20;
    return {
      weightsBytes,
      kvCacheBytes: 25_000_000,
      workingBytes: 64 * 2 ** 20,
      totalBytes,
      limitBytes: 2 ** 32,
      fits: totalBytes <= 2 ** 32,
    };
  }

  async loadModel(
    modelId: string,
    onProgress?: (fraction: number) => void,
  ): Promise<LoadedModelInfo> {
    const model = this.models.find((m) => m.id === modelId);
    if (model?.state !== "ready") throw new Error(`Model ${modelId} is not stored.`);
    onProgress?.(0.5);
    onProgress?.(1);
    return {
      modelId,
      architecture: "bitnet-b1.58",
      parameters: 1000,
      contextLength: 4096,
      kernel: "simd128",
      threads: 2,
      head: "f16",
      memory: { wasmBytes: 80_000_000, kvCacheBytes: 25_000_000 },
    };
  }

  async setInt8Head(on: boolean): Promise<LoadedModelInfo> {
    const info = await this.loadModel(this.models.find((m) => m.state === "ready")?.id ?? "");
    return { ...info, head: on ? "int8" : "f16" };
  }

  async generate(
    conversationId: string,
    messages: ChatMessage[],
    settings: SamplingSettings,
    onPiece: (text: string) => void,
  ): Promise<ChatTurnStats> {
    this.calls.push({
      conversationId,
      messages: structuredClone(messages),
      settings: { ...settings },
    });
    this.aborted = false;
    let generated = 0;
    const late = this.lastPieceLateMs;
    const pieces = late === null ? this.reply : this.reply.slice(0, -1);
    for (const piece of pieces) {
      if (this.aborted) break;
      await sleep(this.pieceDelay);
      if (this.aborted) break;
      onPiece(piece);
      generated++;
      if (this.failWith) throw new Error(this.failWith);
    }
    if (late !== null && this.reply.length > 0) {
      const last = this.reply[this.reply.length - 1];
      setTimeout(() => onPiece(last), late);
      generated++;
    }
    const promptTokens = messages.reduce((n, m) => n + m.content.length, 0);
    return {
      promptTokens,
      prefilledTokens: promptTokens,
      shiftedTokens: 0,
      droppedMessages: 0,
      generatedTokens: generated,
      prefillTokensPerSecond: 100,
      decodeTokensPerSecond: 20,
      stopReason: this.aborted ? "aborted" : "end-of-turn",
    };
  }

  async abortGeneration() {
    this.aborted = true;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
