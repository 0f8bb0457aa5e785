import type { LockManagerLike } from "../locks.ts";

/**
 * An in-memory stand-in for the Web Locks API (navigator.locks), exclusive mode only.
 * Node has no navigator.locks; tests share one of these between two stores to play
 * two tabs of one origin.
 */
export class MemoryLockManager implements LockManagerLike {
  private held = new Set<string>();
  private queues = new Map<string, (() => void)[]>();

  async request<T>(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: { name: string } | null) => Promise<T>,
  ): Promise<T> {
    if (this.held.has(name)) {
      if (options.ifAvailable) return callback(null);
      await new Promise<void>((resolve, reject) => {
        const queue = this.queues.get(name) ?? [];
        this.queues.set(name, queue);
        const onAbort = () => {
          queue.splice(queue.indexOf(grant), 1);
          reject(options.signal?.reason ?? new DOMException("Aborted", "AbortError"));
        };
        const grant = () => {
          options.signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        if (options.signal?.aborted) return onAbort();
        options.signal?.addEventListener("abort", onAbort, { once: true });
        queue.push(grant);
      });
      // The releasing holder handed the lock straight to us: `held` still has the name.
    } else {
      this.held.add(name);
    }
    try {
      return await callback({ name });
    } finally {
      const next = this.queues.get(name)?.shift();
      if (next) next();
      else this.held.delete(name);
    }
  }

  async query(): Promise<{ held: { name: string }[] }> {
    return { held: [...this.held].map((name) => ({ name })) };
  }
}
