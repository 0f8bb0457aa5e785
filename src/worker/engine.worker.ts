import * as Comlink from "comlink";
import { type ChatModel, loadChatModel, parameterCount } from "../engine/chat-model.ts";
import { ConversationTokens } from "../engine/generate/conversation.ts";
import { generate, ModelSession } from "../engine/generate/index.ts";
import { KernelModel } from "../engine/kernels/index.ts";
import { detectCapabilities } from "../engine/platform/capabilities.ts";
import { createSampler } from "../engine/sampling/sampler.ts";
import { ModelStore } from "../storage/model-store.ts";
import type { EngineApi, LoadedModelInfo } from "./api.ts";

const store = new ModelStore();

/** The loaded model and the conversation whose tokens its KV cache holds. */
let loaded: { id: string; chat: ChatModel; session: ModelSession; info: LoadedModelInfo } | null =
  null;
let conversation: { id: string; tokens: ConversationTokens } | null = null;
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

  async loadModel(id, onProgress) {
    if (loaded?.id === id) return loaded.info;
    unload();
    const record = await store.record(id);
    if (record && record.shards.length > 1) {
      throw new Error(
        `"${record.name}" is a split GGUF set: it is stored, but Trit loads single-file models only for now.`,
      );
    }
    const blob = await store.openBlob(id);
    const chat = await loadChatModel(blob, {
      threads: KernelModel.defaultThreads(),
      // The exact f32 KV cache: a bf16 one (KernelModelOptions.kvCache) halves the KV
      // memory but changes greedy tokens on the random-weight test models (their logits
      // are near ties); make it the default once a trained model shows it costs nothing.
      kvCache: "f32",
      onProgress,
    });
    const info: LoadedModelInfo = {
      modelId: id,
      architecture: chat.config.architecture,
      parameters: parameterCount(chat.config),
      contextLength: chat.model.maxPositions,
      kernel: chat.model.build,
      threads: chat.model.threads,
      head: chat.model.headFormat,
    };
    loaded = { id, chat, session: new ModelSession(chat.model), info };
    return info;
  },

  async generate(conversationId, messages, settings, onPiece) {
    if (!loaded) throw new Error("No model is loaded: load one before chatting.");
    if (running) throw new Error("A reply is already being written: stop it first.");
    const { chat, session } = loaded;
    // The cache holds one conversation; another one starts from an empty cache.
    if (conversation?.id !== conversationId) {
      session.reset();
      conversation = {
        id: conversationId,
        tokens: new ConversationTokens(chat.tokenizer, chat.chatTemplate),
      };
    }
    const prompt = conversation.tokens.promptFor(messages);
    running = new AbortController();
    // Pieces travel on the callback's own port: wait for the last one before returning,
    // so the reply never resolves ahead of its text.
    let delivered: unknown = Promise.resolve();
    try {
      const result = await generate({
        session,
        tokenizer: chat.tokenizer,
        sampler: createSampler(settings),
        promptTokens: prompt.tokens,
        maxTokens: settings.maxTokens,
        onToken: (piece) => {
          if (piece) delivered = onPiece(piece);
        },
        signal: running.signal,
      });
      await delivered;
      const { tokens, text, ...stats } = result;
      conversation.tokens.record(prompt, tokens, text);
      return stats;
    } finally {
      running = null;
    }
  },

  async setInt8Head(on) {
    if (!loaded) throw new Error("No model is loaded.");
    if (running) throw new Error("Stop the reply before switching the output head.");
    loaded.chat.model.setInt8Head(on);
    loaded.info = { ...loaded.info, head: loaded.chat.model.headFormat };
    return loaded.info;
  },

  async abortGeneration() {
    running?.abort();
  },
};

function unload() {
  running?.abort();
  loaded?.chat.model.dispose();
  loaded = null;
  conversation = null;
}

Comlink.expose(engine);
