import * as Comlink from "comlink";
import { readBitNetConfig } from "../engine/bitnet/config.ts";
import { type ChatModel, loadChatModel, parameterCount } from "../engine/chat-model.ts";
import { ChatSession } from "../engine/generate/index.ts";
import { type GgufHeader, readGgufHeader } from "../engine/gguf/index.ts";
import { formChoice, KernelModel } from "../engine/kernels/index.ts";
import { type EngineMemory, kvCacheBytes, planModelMemory } from "../engine/memory.ts";
import { detectCapabilities } from "../engine/platform/capabilities.ts";
import { type KernelChoice, KernelChoices } from "../storage/kernel-choices.ts";
import { ModelLibrary } from "../storage/model-library.ts";
import type { ModelRecord } from "../storage/records.ts";
import { WeightImages } from "../storage/weight-images.ts";
import type { EngineApi, LoadedModelInfo } from "./api.ts";

const store = new ModelLibrary();
/** Kernel-layout copies of the models' weights, where the private file system works. */
const images = WeightImages.open();
const kernelChoices = new KernelChoices();
/** The header planMemory parsed, for the loadModel that follows it to reuse. */
let lastHeader: { id: string; blob: Blob; header: Promise<GgufHeader> } | null = null;
/** The image being written after a load from the file (deleting its model stops it). */
let saving: { id: string; stop: AbortController; done: Promise<void> } | null = null;

/** The loaded model, and its chat session (which knows the conversation its KV cache holds). */
let loaded: { id: string; chat: ChatModel; session: ChatSession; info: LoadedModelInfo } | null =
  null;
let running: AbortController | null = null;

const engine: EngineApi = {
  async ping() {
    console.debug("trit:ping");
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
    if (saving?.id === id) {
      saving.stop.abort();
      await saving.done;
    }
    if (lastHeader?.id === id) lastHeader = null;
    await store.delete(id);
    const kept = await images;
    await kept?.delete(id);
    await kept?.keepOnly((await store.list()).map((m) => m.id));
    await kernelChoices.delete(id, KernelModel.defaultThreads());
  },

  async storageEstimate() {
    const figures = await store.estimate();
    const imageBytes = (await (await images)?.bytes()) ?? 0;
    return { ...figures, imageBytes };
  },

  async planMemory(id) {
    performance.clearMarks();
    performance.mark("trit:plan start");
    const blob = await store.openBlob(id);
    performance.mark("trit:plan blob opened");
    const config = readBitNetConfig(await headerOf(id, blob));
    performance.mark("trit:plan header");
    logMarks("trit:plan");
    return planModelMemory(config, blob.size);
  },

  async loadModel(id, onProgress) {
    if (loaded?.id === id) return loaded.info;
    unload();
    performance.clearMarks();
    performance.mark("trit:load start");
    const record = await store.record(id);
    if (record && record.shards.length > 1) {
      throw new Error(
        `"${record.name}" is a split GGUF set: it is stored, but Trit loads single-file models only for now.`,
      );
    }
    const threads = KernelModel.defaultThreads();
    const imageStore = (await images)?.forModel(id);
    const choice = await kernelChoices.get(id, threads);
    let chat: ChatModel;
    try {
      // Weights that do not load are marked failed (the list offers Retry/Delete), unless
      // the device ran out of memory; a stored byte the browser fails to read is read again.
      chat = await store.loadStored(
        id,
        async (blob) => {
          performance.mark("trit:load blob opened");
          return loadChatModel(blob, {
            header: await headerOf(id, blob),
            threads,
            threadsHint: choice.threads,
            formsHint: formChoice(choice.forms),
            weightImage:
              imageStore && record
                ? { store: imageStore, modelKey: modelKey(record), onProgress }
                : undefined,
            // The exact f32 KV cache: a bf16 one (KernelModelOptions.kvCache) halves the KV
            // memory but is not free: on the trained demo model it changes the top-1 token at
            // 0.58% of held-out positions and the greedy continuation of 3 of 24 held-out
            // prompts (scripts/demo-model/README.md).
            kvCache: "f32",
            onProgress,
          });
        },
        {
          keepsModel: outOfMemory,
          // the blob planMemory opened, if it asked for this model just before
          opened: lastHeader?.id === id ? lastHeader.blob : undefined,
        },
      );
    } finally {
      lastHeader = null;
    }
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
    logMarks(
      "trit:load",
      chat.model.fromImage ? "weights from the stored image" : "weights from the file",
    );
    if (!chat.model.fromImage && record) saveImage(id, chat, modelKey(record));
    void kernelChoices.save(id, threads, choiceOf(chat.model));
    return info;
  },

  async generate(conversationId, messages, settings, onPiece) {
    if (!loaded) throw new Error("No model is loaded: load one before chatting.");
    if (running) throw new Error("A reply is already being written: stop it first.");
    running = new AbortController();
    // Pieces travel on the callback's own port: wait for the last one before returning,
    // so the reply never resolves ahead of its text.
    let delivered: unknown = Promise.resolve();
    performance.clearMarks();
    performance.mark("trit:reply start");
    let first = true;
    try {
      const {
        tokens: _tokens,
        text: _text,
        ...stats
      } = await loaded.session.reply(messages, {
        settings,
        conversationId,
        onToken: (piece) => {
          if (first) {
            first = false;
            performance.mark("trit:reply first token");
            logMarks("trit:reply");
          }
          if (piece) delivered = onPiece(piece);
        },
        signal: running.signal,
      });
      await delivered;
      return stats;
    } finally {
      running = null;
      // the count decoding found fastest, for the next load to start with
      const model = loaded?.chat.model;
      if (loaded && model && model.threads > 1) {
        void kernelChoices.save(loaded.id, model.threads, choiceOf(model));
      }
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

/** The file's header, parsed once for planMemory and the loadModel after it. */
/** What the model's kernels run with, for the next load of it to start with. */
function choiceOf(model: KernelModel): KernelChoice {
  return {
    threads: model.activeThreads,
    forms: { decode: model.decodeForm, prefill: model.prefillForm, kernels: model.kernels },
  };
}

function headerOf(id: string, blob: Blob): Promise<GgufHeader> {
  // the same Blob object only: a retry after a read fault opens a new one and reads again
  if (lastHeader?.id !== id || lastHeader.blob !== blob) {
    lastHeader = { id, blob, header: readGgufHeader(blob) };
  }
  return lastHeader.header;
}

/** Which stored bytes a weight image was made from: a model added again is another. */
function modelKey(record: ModelRecord): string {
  const shard = record.shards[0];
  return [record.id, record.createdAt, shard?.size, shard?.hashes.at(-1) ?? ""].join("|");
}

/**
 * Writes the kernel-layout image after a load from the file, in steps between which the
 * worker answers (the first reply need not wait for it); the next load copies it back.
 */
function saveImage(id: string, chat: ChatModel, key: string) {
  const stop = new AbortController();
  const previous = saving?.done ?? Promise.resolve();
  const done = (async () => {
    await previous;
    const imageStore = (await images)?.forModel(id, stop.signal);
    if (!imageStore || stop.signal.aborted) return;
    const t0 = performance.now();
    await chat.model.saveWeightImage(imageStore, key).catch(() => undefined);
    if (!stop.signal.aborted) {
      console.debug(`trit:image written in ${(performance.now() - t0).toFixed(0)} ms`);
    }
  })();
  const job = { id, stop, done };
  saving = job;
  void done.then(() => {
    if (saving === job) saving = null;
  });
}

/** Logs the time (ms) between the marks of one phase, for the cached-start benchmark. */
function logMarks(prefix: string, note = "") {
  const marks = performance.getEntriesByType("mark").filter((m) => m.name.startsWith(prefix));
  const steps = marks
    .slice(1)
    .map(
      (m, i) =>
        `${m.name.slice(prefix.length + 1)} ${(m.startTime - marks[i].startTime).toFixed(0)}`,
    );
  console.debug(`${prefix}: ${steps.join(", ")}${note ? ` (${note})` : ""}`);
}

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
  // an image half written is removed; the next load from the file writes it again
  saving?.stop.abort();
  loaded?.chat.model.dispose();
  loaded = null;
}

Comlink.expose(engine);
