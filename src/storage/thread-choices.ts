import { createStore, del, get, set, type UseStore } from "idb-keyval";

/**
 * The kernel thread count each model ran fastest with on this device, so that a later load
 * need not time every count before its first reply (engine/kernels/thread-mode.ts keeps
 * timing as it decodes, and the choice is saved again after each reply).
 */
export class ThreadChoices {
  private readonly store: UseStore;

  constructor(store?: UseStore) {
    this.store = store ?? createStore("trit-engine", "thread-choices");
  }

  /** The device's part of the key: a different core count is a different choice. */
  private key(modelId: string, threads: number): string {
    const cores = globalThis.navigator?.hardwareConcurrency ?? 0;
    return `${modelId}|${cores}|${threads}`;
  }

  /** The saved count for a model started with `threads` threads, if any. */
  async get(modelId: string, threads: number): Promise<number | undefined> {
    const n = await get<number>(this.key(modelId, threads), this.store).catch(() => undefined);
    return Number.isInteger(n) ? n : undefined;
  }

  async save(modelId: string, threads: number, active: number): Promise<void> {
    await set(this.key(modelId, threads), active, this.store).catch(() => undefined);
  }

  async delete(modelId: string, threads: number): Promise<void> {
    await del(this.key(modelId, threads), this.store).catch(() => undefined);
  }
}
