import { describeUrl, errorText, httpErrorMessage, StoreError } from "./errors.ts";
import { publishedSha256 } from "./published-checksum.ts";

/**
 * A dropped connection, an unreachable server or a body that ended early: what is stored
 * is kept and the download can resume. `received` counts the bytes this attempt got;
 * `responded` says the server answered (so the network is up).
 */
export class Dropped extends Error {
  constructor(
    message: string,
    readonly received = 0,
    readonly responded = false,
  ) {
    super(message);
    this.name = "Dropped";
  }
}

/** What a server says about a file before its bytes. */
export interface FileFacts {
  size: number | null;
  sha256: string | null;
  etag: string | null;
  lastModified: string | null;
}

/** The answer to "the bytes of `url` from `start` on". */
export type RangeAnswer =
  | {
      kind: "body";
      body: ReadableStream<Uint8Array>;
      /** True when the server ignored Range and the body starts at byte 0. */
      fromZero: boolean;
      acceptsRanges: boolean;
      facts: FileFacts;
    }
  /** 416: nothing from `start` on; `total` is the file's size when the server said. */
  | { kind: "nothing-left"; total: number | null; facts: FileFacts };

/**
 * The HTTP side of a download: HEAD for the facts, then GET with Range from an exact
 * byte. It reports what the server said; deciding what to keep is the caller's job.
 */
export class RangeFetcher {
  constructor(private readonly fetch: typeof globalThis.fetch) {}

  /** Size, checksum and validators from HEAD; nulls when the server will not answer HEAD. */
  async head(url: string, signal?: AbortSignal): Promise<FileFacts> {
    const none: FileFacts = { size: null, sha256: null, etag: null, lastModified: null };
    let res: Response;
    try {
      res = await this.fetch(url, { method: "HEAD", cache: "no-store", signal });
    } catch {
      // Some servers and CORS setups refuse HEAD; the first GET tells the size instead.
      return none;
    }
    if ([401, 403, 404, 410].includes(res.status)) {
      throw new StoreError("http", httpErrorMessage(res.status, url));
    }
    if (!res.ok) return none;
    return factsOf(res, numberHeader(res.headers.get("content-length")));
  }

  /** The bytes from `start` on; up to `end` (inclusive) when given. */
  async fromByte(
    url: string,
    start: number,
    signal: AbortSignal,
    end?: number,
  ): Promise<RangeAnswer> {
    let res: Response;
    try {
      res = await this.fetch(url, {
        headers: { Range: `bytes=${start}-${end ?? ""}` },
        signal,
        cache: "no-store",
      });
    } catch (e) {
      if (signal.aborted) throw e;
      throw new Dropped(
        `Could not reach ${describeUrl(url)} (${errorText(e)}: offline, or the server does not allow downloads from other sites).`,
      );
    }
    if (res.status === 416) {
      await res.body?.cancel();
      const total = parseContentRange(res.headers.get("content-range"))?.total ?? null;
      return { kind: "nothing-left", total, facts: factsOf(res, total) };
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new StoreError("http", httpErrorMessage(res.status, url));
    }
    if (!res.body) throw new Dropped(`The server sent no data for ${describeUrl(url)}.`, 0, true);
    const length = numberHeader(res.headers.get("content-length"));
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get("content-range"));
      if (range && range.start !== start) {
        await res.body.cancel();
        throw new StoreError(
          "size",
          `The server sent ${describeUrl(url)} from byte ${range.start} when asked from byte ${start}.`,
        );
      }
      const total = range?.total ?? (length !== null && end === undefined ? start + length : null);
      return {
        kind: "body",
        body: res.body,
        fromZero: false,
        acceptsRanges: true,
        facts: factsOf(res, total),
      };
    }
    return {
      kind: "body",
      body: res.body,
      fromZero: true,
      acceptsRanges: res.headers.get("accept-ranges") === "bytes",
      facts: factsOf(res, length),
    };
  }
}

function factsOf(res: Response, size: number | null): FileFacts {
  return {
    size,
    sha256: publishedSha256(res.headers),
    etag: res.headers.get("etag"),
    lastModified: res.headers.get("last-modified"),
  };
}

export function numberHeader(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  return Number(value);
}

function parseContentRange(value: string | null): { start: number; total: number | null } | null {
  const m = value ? /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/i.exec(value.trim()) : null;
  if (!m) return null;
  return {
    start: m[1] === undefined ? -1 : Number(m[1]),
    total: m[2] === "*" ? null : Number(m[2]),
  };
}

/**
 * reader.read(), but rejecting as soon as `signal` aborts: a fetch body does not
 * always fail its pending read when its request is aborted.
 */
export function readOrAbort<T>(
  reader: ReadableStreamDefaultReader<T>,
  signal: AbortSignal,
): Promise<ReadableStreamReadResult<T>> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    reader.read().then(
      (r) => {
        signal.removeEventListener("abort", onAbort);
        resolve(r);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
