import { createStore, del, get, set, type UseStore } from "idb-keyval";

/** What a model's kernels ran fastest with on this device: plain numbers the engine checks. */
export interface KernelChoice {
  /** Threads that took part in decoding (engine/kernels/thread-mode.ts). */
  threads?: number;
  /**
   * The ternary forms the load-time timing chose, and the kernels they were timed on
   * (engine/kernels/wasm-module.ts).
   */
  forms?: { decode: number; prefill: number; kernels?: string };
}

/**
 * What each model's kernels ran fastest with on this device, so that a later load need not
 * time them again before its first reply: the thread count (thread-mode.ts keeps timing as
 * it decodes, and the count is saved again after each reply) and the ternary forms (kept
 * so that the stored weight image keeps the layout it was made in). The key holds the core
 * count, the threads the model started with and the browser, whose updates can change
 * which form is fastest.
 */
export class KernelChoices {
  private readonly store: UseStore;

  constructor(store?: UseStore) {
    // the store's name from when it held thread counts alone
    this.store = store ?? createStore("trit-engine", "thread-choices");
  }

  private key(modelId: string, threads: number): string {
    const cores = globalThis.navigator?.hardwareConcurrency ?? 0;
    const browser = globalThis.navigator?.userAgent ?? "";
    return `${modelId}|${cores}|${threads}|${browser}`;
  }

  /** The saved choice for a model started with `threads` threads ({} when none). */
  async get(modelId: string, threads: number): Promise<KernelChoice> {
    const saved = await get<unknown>(this.key(modelId, threads), this.store).catch(() => undefined);
    if (typeof saved !== "object" || saved === null) return {};
    const { threads: active, forms } = saved as KernelChoice;
    const choice: KernelChoice = {};
    if (Number.isInteger(active)) choice.threads = active;
    if (forms && Number.isInteger(forms.decode) && Number.isInteger(forms.prefill)) {
      choice.forms = { decode: forms.decode, prefill: forms.prefill };
      if (typeof forms.kernels === "string") choice.forms.kernels = forms.kernels;
    }
    return choice;
  }

  async save(modelId: string, threads: number, choice: KernelChoice): Promise<void> {
    await set(this.key(modelId, threads), choice, this.store).catch(() => undefined);
  }

  async delete(modelId: string, threads: number): Promise<void> {
    await del(this.key(modelId, threads), this.store).catch(() => undefined);
  }
}
