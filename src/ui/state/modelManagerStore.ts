import * as Comlink from "comlink";
import { create } from "zustand";
import type {
  DownloadProgress,
  LoadedModelInfo,
  MemoryPlan,
  SamplingSettings,
  StorageFigures,
  StoredModel,
} from "../../worker/api.ts";
import { errorText, requireEngine } from "./engineStore.ts";
import { catalogEntryFor, storedFromUrl } from "./modelCatalog.ts";
import { checkModelUrl, parseShareLink, type ShareRequest } from "./shareLink.ts";

/** A share link waiting for the user's yes, with its size if this browser already knows it. */
export interface PendingShare extends ShareRequest {
  sizeBytes: number | null;
  sizeApproximate: boolean;
  /** Set when the model is already stored: accepting downloads nothing. */
  storedModelId?: string;
}

interface ModelState {
  models: StoredModel[];
  /** Latest progress per model id while something moves. */
  progress: Record<string, DownloadProgress>;
  storage: StorageFigures | null;
  loaded: LoadedModelInfo | null;
  loading: { modelId: string; fraction: number } | null;
  /** The last thing that went wrong in the model manager, in words. */
  error: string | null;
  pendingShare: PendingShare | null;
  /** A share link that was refused, and why. */
  shareError: string | null;
  /** Whether the server has the built-in demo model (null until asked). */
  builtInAvailable: boolean | null;
  builtInBytes: number | null;
  /** A model that was about to load but will not fit in wasm memory: ask first. */
  memoryWarning: { modelId: string; plan: MemoryPlan } | null;

  refresh(): Promise<void>;
  downloadUrl(rawUrl: string): Promise<StoredModel | null>;
  addFile(file: File): Promise<StoredModel | null>;
  pause(modelId: string): Promise<void>;
  resume(modelId: string): Promise<void>;
  cancel(modelId: string): Promise<void>;
  remove(modelId: string): Promise<void>;
  /** Loads a stored model; one too big for wasm memory waits for `anyway` (see memoryWarning). */
  load(modelId: string, options?: { anyway?: boolean }): Promise<LoadedModelInfo | null>;
  dismissMemoryWarning(): void;
  /** Uses the loaded model's int8 output head (faster, approximate) or the exact one. */
  setInt8Head(on: boolean): Promise<void>;
  /** Loads the model used last time if it is stored and ready (offline start). */
  restoreLastModel(): Promise<void>;
  dismissError(): void;
  /** Asks the app's own server (or the service worker's cache) whether it has the built-in model. */
  checkBuiltIn(url: string): Promise<void>;
  /** Reads a share link from an address; asks before downloading. */
  openShareLink(href: string, base: string): Promise<void>;
  acceptShare(): Promise<void>;
  dismissShare(): void;
}

const LAST_MODEL_KEY = "trit:last-model";

/** Called with a share link's prompt and settings once its model is ready (set by the chat store). */
let onShareReady:
  | ((prompt: string | undefined, settings: Partial<SamplingSettings>) => void)
  | null = null;
export function setShareReadyHandler(handler: typeof onShareReady): void {
  onShareReady = handler;
}

function remember(modelId: string): void {
  try {
    globalThis.localStorage?.setItem(LAST_MODEL_KEY, modelId);
  } catch {
    // Private mode or storage off: the app still works, it just will not auto-load.
  }
}

function recalled(): string | null {
  try {
    return globalThis.localStorage?.getItem(LAST_MODEL_KEY) ?? null;
  } catch {
    return null;
  }
}

/**
 * Asks the app's own server for a file's size without downloading it; null when it will
 * not say. Only for the app's origin: other hosts are contacted when the user asks.
 */
async function headSize(url: string): Promise<number | null | undefined> {
  try {
    const response = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(8000) });
    const length = Number(response.headers.get("content-length"));
    // Dev and preview servers answer unknown paths with the app's index.html.
    const html = response.headers.get("content-type")?.includes("text/html") ?? false;
    return response.ok && !html && Number.isFinite(length) && length > 0 ? length : null;
  } catch {
    // No answer (a busy first visit, a slow link): not known to be missing.
    return undefined;
  }
}

/** Other tabs of the app: told when the stored models change, so their lists follow. */
const tabs: BroadcastChannel | null =
  typeof BroadcastChannel === "function" ? new BroadcastChannel("trit-models") : null;

export const useModelManagerStore = create<ModelState>((set, get) => {
  /** Lists the models again here, and has the other tabs do the same. */
  function changed(): void {
    void get()
      .refresh()
      .finally(() => tabs?.postMessage("models-changed"));
  }
  if (tabs) tabs.onmessage = () => void get().refresh();

  const onProgress = Comlink.proxy((p: DownloadProgress) => {
    // Progress events travel on the callback's own port and can arrive after the call
    // resolved: late events of a cancelled or ended download must not bring its line back.
    if (cancelled.has(p.modelId) || ended.has(p.modelId)) return;
    set((s) => ({ progress: { ...s.progress, [p.modelId]: p } }));
    // A download that continued by itself (the browser came back online) ends with no
    // call waiting for it: list it as it ended.
    if (p.state === "ready" || p.state === "failed") void get().refresh();
    // A new download: list it now rather than when it ends.
    if (!get().models.some((m) => m.id === p.modelId) && !listing.has(p.modelId)) {
      listing.add(p.modelId);
      void get()
        .refresh()
        .finally(() => {
          listing.delete(p.modelId);
          tabs?.postMessage("models-changed");
        });
    }
  });
  const listing = new Set<string>();
  /** Downloads the user cancelled: their ending is not an error to show. */
  const cancelled = new Set<string>();
  /** Downloads that ended (ready or failed) since they were last started. */
  const ended = new Set<string>();

  /** Runs a download call; a cancelled download ends quietly. */
  async function download(
    what: string,
    run: () => Promise<StoredModel>,
  ): Promise<StoredModel | null> {
    const before = new Set(cancelled);
    try {
      return await run();
    } catch (err) {
      const cancelledNow = [...cancelled].some((id) => !before.has(id));
      if (!cancelledNow) set({ error: `${what}: ${errorText(err)}` });
      return null;
    } finally {
      changed();
    }
  }

  /** Runs an engine call, turning a failure into the manager's error line. */
  async function attempt<T>(what: string, run: () => Promise<T>): Promise<T | null> {
    try {
      return await run();
    } catch (err) {
      set({ error: `${what}: ${errorText(err)}` });
      return null;
    } finally {
      changed();
    }
  }

  /** After a download ends: drop its progress line, and load it if nothing is loaded yet. */
  async function afterDownload(model: StoredModel | null): Promise<void> {
    if (!model) return;
    set((s) => {
      const progress = { ...s.progress };
      if (model.state === "ready" || model.state === "failed") {
        delete progress[model.id];
        ended.add(model.id);
      }
      // The list may still hold the model as it was mid-download; without its progress
      // line the card would draw that (a full bar jumping back), so show it as it ended.
      const models = s.models.map((m) => (m.id === model.id ? model : m));
      return { progress, models };
    });
    if (model.state === "failed")
      set({ error: model.error ?? `${model.name} failed to download.` });
    if (model.state === "ready" && !get().loaded && !get().loading) await get().load(model.id);
  }

  return {
    models: [],
    progress: {},
    storage: null,
    loaded: null,
    loading: null,
    error: null,
    pendingShare: null,
    shareError: null,
    builtInAvailable: null,
    builtInBytes: null,
    memoryWarning: null,

    async refresh() {
      try {
        const engine = requireEngine();
        const [models, storage] = await Promise.all([
          engine.listModels(),
          engine.storageEstimate().catch(() => null),
        ]);
        set({ models, storage });
      } catch (err) {
        set({ error: `Could not list the stored models: ${errorText(err)}` });
      }
    },

    async downloadUrl(rawUrl) {
      const checked = checkModelUrl(rawUrl);
      if ("error" in checked) {
        set({ error: checked.error });
        return null;
      }
      set({ error: null });
      cancelled.clear();
      ended.clear(); // the same source may be downloaded again
      const model = await download("The download stopped", () =>
        requireEngine().addModelFromUrl([checked.url], onProgress),
      );
      await afterDownload(model);
      return model;
    },

    async addFile(file) {
      if (!/\.gguf$/i.test(file.name)) {
        set({ error: `"${file.name}" is not a .gguf file. Pick a GGUF model file.` });
        return null;
      }
      set({ error: null });
      ended.clear(); // the same file may be added again
      const model = await download(`Could not add ${file.name}`, () =>
        requireEngine().addModelFromFile(file, onProgress),
      );
      await afterDownload(model);
      return model;
    },

    async pause(modelId) {
      await attempt("Could not pause the download", () => requireEngine().pauseDownload(modelId));
    },

    async resume(modelId) {
      set({ error: null });
      cancelled.delete(modelId);
      ended.delete(modelId);
      const model = await download("The download stopped", () =>
        requireEngine().resumeDownload(modelId, onProgress),
      );
      await afterDownload(model);
    },

    async cancel(modelId) {
      cancelled.add(modelId);
      await attempt("Could not cancel the download", () => requireEngine().cancelDownload(modelId));
      set((s) => {
        const progress = { ...s.progress };
        delete progress[modelId];
        return { progress };
      });
    },

    async remove(modelId) {
      await attempt("Could not delete the model", () => requireEngine().deleteModel(modelId));
      if (get().loaded?.modelId === modelId) set({ loaded: null });
    },

    async load(modelId, options) {
      set({ memoryWarning: null, error: null });
      if (!options?.anyway) {
        // An engine that cannot plan (an older worker) just loads.
        const plan = await requireEngine()
          .planMemory(modelId)
          .catch(() => null);
        if (plan && !plan.fits) {
          set({ memoryWarning: { modelId, plan } });
          return null;
        }
      }
      set({ loading: { modelId, fraction: 0 } });
      const onLoad = Comlink.proxy((fraction: number) =>
        set((s) => (s.loading?.modelId === modelId ? { loading: { modelId, fraction } } : {})),
      );
      try {
        const info = await requireEngine().loadModel(modelId, onLoad);
        set({ loaded: info, loading: null });
        remember(modelId);
        return info;
      } catch (err) {
        set({ loading: null, error: `Could not load the model: ${errorText(err)}` });
        return null;
      }
    },

    async setInt8Head(on) {
      await attempt("Could not switch the output head", async () => {
        const info = await requireEngine().setInt8Head(on);
        set({ loaded: info });
      });
    },

    async restoreLastModel() {
      const id = recalled();
      if (!id || get().loaded || get().loading) return;
      const model = get().models.find((m) => m.id === id);
      if (model?.state === "ready") await get().load(id);
    },

    dismissError() {
      set({ error: null });
    },

    dismissMemoryWarning() {
      set({ memoryWarning: null });
    },

    async checkBuiltIn(url) {
      const size = await headSize(url);
      if (size === undefined) return;
      set({ builtInAvailable: size !== null, builtInBytes: size });
    },

    async openShareLink(href, base) {
      const parsed = parseShareLink(href);
      if (!parsed) return;
      if (!parsed.ok) {
        set({ shareError: `This share link was not opened. ${parsed.error}`, pendingShare: null });
        return;
      }
      const request = parsed.request;
      const stored = storedFromUrl(get().models, request.modelUrl);
      const entry = catalogEntryFor(request.modelUrl, base);
      const pending: PendingShare = {
        ...request,
        name: request.name ?? entry?.name,
        sizeBytes: stored?.totalBytes ?? entry?.sizeBytes ?? null,
        sizeApproximate: stored?.totalBytes ? false : (entry?.sizeApproximate ?? false),
        storedModelId: stored?.state === "ready" ? stored.id : undefined,
      };
      // Nothing is asked of the link's host (not even its size) before the user says yes:
      // the size shown is what this browser or the catalogue already knows.
      set({ pendingShare: pending, shareError: null });
    },

    async acceptShare() {
      const share = get().pendingShare;
      if (!share) return;
      set({ pendingShare: null });
      onShareReady?.(share.prompt, share.settings);
      if (share.storedModelId) {
        if (get().loaded?.modelId !== share.storedModelId) await get().load(share.storedModelId);
        return;
      }
      const model = await get().downloadUrl(share.modelUrl);
      // A download that finished while another model was loaded: switch to the shared one.
      if (model?.state === "ready" && get().loaded?.modelId !== model.id)
        await get().load(model.id);
    },

    dismissShare() {
      set({ pendingShare: null, shareError: null });
    },
  };
});
