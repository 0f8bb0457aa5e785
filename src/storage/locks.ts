/** The part of the Web Locks API (navigator.locks) the store uses. */
export interface LockManagerLike {
  request<T>(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: unknown) => Promise<T>,
  ): Promise<T>;
  query?(): Promise<{ held?: { name?: string }[] }>;
}

/** The lock that makes one tab the only writer of a model. */
export function modelLockName(modelId: string): string {
  return `trit-model:${modelId}`;
}

/** navigator.locks when the context has it (browsers, Node ≥ 22), else null. */
export function defaultLocks(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: unknown } }).navigator;
  return (nav?.locks as LockManagerLike | undefined) ?? null;
}
