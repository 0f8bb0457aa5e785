/** Why a store operation stopped, for code that reacts to it (the message is for people). */
export type StoreErrorCode =
  | "quota"
  | "http"
  | "network"
  | "invalid"
  | "changed"
  | "size"
  | "damaged"
  | "checksum"
  | "busy"
  | "storage"
  | "unknown-model"
  | "needs-file"
  | "bad-input";

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string) {
    super(message);
    this.name = "StoreError";
    this.code = code;
  }
}

// One formatter and one error-to-words for the app (see words.ts).
export { errorText, formatBytes } from "./words.ts";

/** An HTTP failure status in words. */
export function httpErrorMessage(status: number, url: string): string {
  const where = describeUrl(url);
  switch (status) {
    case 401:
    case 403:
      return `The server refused access to ${where} (HTTP ${status}): the file may be private or need a login.`;
    case 404:
    case 410:
      return `The file was not found at ${where} (HTTP ${status}): check the URL.`;
    case 429:
      return `The server at ${where} is limiting requests (HTTP 429): wait a while, then resume.`;
    default:
      return status >= 500
        ? `The server failed while sending ${where} (HTTP ${status}): try again later.`
        : `The server answered HTTP ${status} for ${where}.`;
  }
}

export function isQuotaError(e: unknown): boolean {
  const err = e as { name?: string; message?: string } | null;
  return (
    err?.name === "QuotaExceededError" ||
    (typeof err?.message === "string" && /quota/i.test(err.message))
  );
}

export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return url;
  }
}

/**
 * Whether the browser failed to read stored bytes back: WebKit's "The I/O read operation
 * failed" (NotReadableError) when a stored value is read, IndexedDB's UnknownError. A
 * storage fault, often passing, that says nothing about the model's bytes. Looks through
 * `cause` in case a reader wrapped it.
 */
export function isStorageReadFault(e: unknown): boolean {
  for (let err = e, depth = 0; err && depth < 5; depth++) {
    const { name, message, cause } = err as { name?: unknown; message?: unknown; cause?: unknown };
    if (name === "NotReadableError" || name === "UnknownError") return true;
    if (typeof message === "string" && /I\/O read operation failed/i.test(message)) return true;
    err = cause;
  }
  return false;
}
