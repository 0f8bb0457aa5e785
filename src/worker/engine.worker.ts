import * as Comlink from "comlink";
import { readBitNetConfig } from "../engine/bitnet/config.ts";
import { type ChatModel, loadChatModel, parameterCount } from "../engine/chat-model.ts";
import { ChatSession } from "../engine/generate/index.ts";
import { readGgufHeader } from "../engine/gguf/index.ts";
import { KernelModel } from "../engine/kernels/index.ts";
import { type EngineMemory, kvCacheBytes, planModelMemory } from "../engine/memory.ts";
import { detectCapabilities } from "../engine/platform/capabilities.ts";
import { ModelLibrary } from "../storage/model-library.ts";
import type { EngineApi, LoadedModelInfo } from "./api.ts";

const store = new ModelLibrary();

/** The loaded model, and its chat session (which knows the conversation its KV cache holds). */
let loaded: { id: string; chat: ChatModel; session: ChatSession; info: LoadedModelInfo } | null =
  null;
let running: AbortController | null = null;

const engine: EngineApi = {
  async ping() {
    return { pong: true, capabilities: await detectCapabilities() };
  },

  listModels: () => store.list(),
  addModelFromUrl: (urls, onProgress) => store.addFromUrl(urls, onProgress),
  addModelFromFile: (file, onProgress) => store.addFromFile(file, onProgress),
  pauseDownload: (id) => store.pause(id),
  resumeDownload: (id, onProgress) => store.resume(id, onProgress),
  cancelDownload: (id) => store.cancel(id),
  async deleteModel(id) {
    if (loaded?.id === id) unload();
    await store.delete(id);
  },
  storageEstimate: () => store.estimate(),

  async planMemory(id) {
    const blob = await store.openBlob(id);
    const config = readBitNetConfig(await readGgufHeader(blob));
    return planModelMemory(config, blob.size);
  },

  async loadModel(id, onProgress) {
    if (loaded?.id === id) return loaded.info;
    unload();
    const record = await store.record(id);
    if (record && record.shards.length > 1) {
      throw new Error(
        `"${record.name}" is a split GGUF set: it is stored, but Trit loads single-file models only for now.`,
      );
    }
    // Weights that do not load are marked failed (the list offers Retry/Delete), unless the
    // device ran out of memory; a stored byte the browser fails to read is read again.
    const chat = await store.loadStored(
      id,
      (blob) =>
        loadChatModel(blob, {
          threads: KernelModel.defaultThreads(),
          // The exact f32 KV cache: a bf16 one (KernelModelOptions.kvCache) halves the KV
          // memory but changes greedy tokens on the random-weight test models (their logits
          // are near ties); make it the default once a trained model shows it costs nothing.
          kvCache: "f32",
          onProgress,
        }),
      { keepsModel: outOfMemory },
    );
    const info: LoadedModelInfo = {
      modelId: id,
      architecture: chat.config.architecture,
      parameters: parameterCount(chat.config),
      contextLength: chat.model.maxPositions,
      kernel: chat.model.build,
      // The count the load-time timing found fastest, not the cores the runtime reports.
      threads: chat.model.activeThreads,
      head: chat.model.headFormat,
      memory: engineMemory(chat),
    };
    loaded = {
      id,
      chat,
      session: new ChatSession(chat.model, chat.tokenizer, chat.chatTemplate),
      info,
    };
    return info;
  },

  async generate(conversationId, messages, settings, onPiece) {
    if (!loaded) throw new Error("No model is loaded: load one before chatting.");
    if (running) throw new Error("A reply is already being written: stop it first.");
    running = new AbortController();
    // Pieces travel on the callback's own port: wait for the last one before returning,
    // so the reply never resolves ahead of its text.
    let delivered: unknown = Promise.resolve();
    try {
      const {
        tokens: _tokens,
        text: _text,
        ...stats
      } = await loaded.session.reply(messages, {
        settings,
        conversationId,
        onToken: (piece) => {
          if (piece) delivered = onPiece(piece);
        },
        signal: running.signal,
      });
      await delivered;
      return stats;
    } finally {
      running = null;
    }
  },

  async setInt8Head(on) {
    if (!loaded) throw new Error("No model is loaded.");
    if (running) throw new Error("Stop the reply before switching the output head.");
    loaded.chat.model.setInt8Head(on);
    loaded.info = {
      ...loaded.info,
      head: loaded.chat.model.headFormat,
      memory: engineMemory(loaded.chat),
    };
    return loaded.info;
  },

  async abortGeneration() {
    running?.abort();
  },
};

/** The wasm memory the engine holds and the part of it the KV cache takes. */
function engineMemory(chat: ChatModel): EngineMemory {
  return {
    wasmBytes: chat.model.arena.memory.buffer.byteLength,
    kvCacheBytes: kvCacheBytes(chat.config, chat.model.maxPositions),
  };
}

/** Running out of memory is this device's limit, not a fault of the model's bytes. */
function outOfMemory(e: unknown): boolean {
  const message = e instanceof Error ? e.message : String(e);
  return e instanceof RangeError || /out of memory|could not allocate|memory\.grow/i.test(message);
}

function unload() {
  running?.abort();
  loaded?.chat.model.dispose();
  loaded = null;
}

Comlink.expose(engine);
