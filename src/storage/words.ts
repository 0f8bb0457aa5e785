/**
 * Sizes and errors in words, one way for the whole app: the model store's messages use
 * these, and the UI reaches them through the worker API (src/worker/api.ts re-exports
 * them), so a person never sees "kB" in one place and "KB" in another.
 */

const UNITS = ["B", "kB", "MB", "GB", "TB"] as const;

/** Decimal units (1 GB = 10^9 bytes), as browsers, quota and Hugging Face show sizes. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "unknown size";
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/**
 * Whatever was thrown, in words (errors crossing Comlink arrive as Error objects). Browsers
 * sometimes reject with a bare null (WebKit's IndexedDB in private sessions) or a
 * DOMException from another realm: never show "null".
 */
export function errorText(err: unknown): string {
  const message = rawMessage(err);
  // What Comlink reports when the worker lacks the method called (an older worker build).
  if (/reading 'apply'/.test(message)) return "this engine build does not do that yet.";
  return message;
}

function rawMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (e === null || e === undefined || e === "") return "the browser gave no reason";
  if (typeof e === "object") {
    const { message, name } = e as { message?: unknown; name?: unknown };
    if (typeof message === "string" && message) return message;
    if (typeof name === "string" && name) return name;
  }
  return String(e);
}
