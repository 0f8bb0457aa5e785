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

/** Bytes in words: "512 B", "3.4 MB", "1.19 GB" (decimal units, as browsers show quota). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = n;
  let unit = "B";
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)} ${unit}`;
}

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
 * Whatever was thrown, in words. Browsers sometimes reject with a bare null (WebKit's
 * IndexedDB in private sessions) or a DOMException from another realm: never show "null".
 */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (e === null || e === undefined || e === "") return "the browser gave no reason";
  if (typeof e === "object") {
    const { message, name } = e as { message?: unknown; name?: unknown };
    if (typeof message === "string" && message) return message;
    if (typeof name === "string" && name) return name;
  }
  return String(e);
}
