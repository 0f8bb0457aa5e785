import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One file the test server serves, and how it misbehaves. */
export interface ServedFile {
  bytes: Uint8Array;
  etag?: string;
  /** Extra response headers (e.g. a published checksum). */
  headers?: Record<string, string>;
}

/**
 * A local HTTP server for store tests: serves files with Range support and can
 * misbehave on purpose (ignore Range, drop the connection at chosen byte offsets or
 * every N bytes, announce a wrong length or none, end early, change the file while it
 * is being sent, answer with an error status).
 */
export interface RangeServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  url: string;
  files: Map<string, ServedFile>;
  /** Absolute file offsets where a response is cut (each used once, then dropped). */
  cutAt: Map<string, number[]>;
  /** Drops every response after this many bytes of its body (a link that never stays up). */
  dropEvery: Map<string, number>;
  /**
   * Announces the file as this many bytes longer than it is (Content-Length and the
   * Content-Range total), sends what it has and drops the connection.
   */
  lieLength: Map<string, number>;
  /** Paths served with no length anywhere (chunked bodies, "bytes a-b/*"). */
  noLength: Set<string>;
  /** Absolute offsets where a response ends cleanly, as if the file ended there (each used once). */
  endAt: Map<string, number[]>;
  /**
   * Replaces the file once a response has sent `at` bytes of it: the rest of that
   * response, and every later request, gets the new file (the same connection, no drop).
   */
  swapAt: Map<string, { at: number; file: ServedFile }>;
  /** When true, Range headers are ignored and every GET answers 200 with the whole file. */
  ignoreRange: boolean;
  /** When set, every request for that path answers this status. */
  failWith: Map<string, number>;
  /** When set, bodies go out `bytes` at a time with `everyMs` between pieces (a slow link). */
  pace: { bytes: number; everyMs: number } | null;
  /** Requests seen, in order: method, path, Range header. */
  log: { method: string; path: string; range: string | null }[];
  /** Bytes of file data sent so far (over all responses). */
  bytesSent: number;
  /**
   * When true, answers as a CORS-enabled host (any origin; Range allowed; Content-Range,
   * Content-Length, ETag and the files' extra headers exposed), for pages on another port.
   */
  cors: boolean;
  close(): Promise<void>;
}

function parseRange(header: string | undefined, size: number): [number, number] | "bad" | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return "bad";
  let start: number;
  let end: number;
  if (m[1] === "") {
    // Suffix range: the last N bytes.
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) return "bad";
  return [start, end];
}

export async function startRangeServer(): Promise<RangeServer> {
  const state: Omit<RangeServer, "url" | "close"> = {
    files: new Map(),
    cutAt: new Map(),
    dropEvery: new Map(),
    lieLength: new Map(),
    noLength: new Set(),
    endAt: new Map(),
    swapAt: new Map(),
    ignoreRange: false,
    failWith: new Map(),
    pace: null,
    log: [],
    bytesSent: 0,
    cors: false,
  };

  const corsHeaders = (file: ServedFile | undefined): Record<string, string> =>
    state.cors
      ? {
          "Access-Control-Allow-Origin": "*",
          "Access-Control-Expose-Headers": [
            "Content-Range",
            "Content-Length",
            "Accept-Ranges",
            "ETag",
            ...Object.keys(file?.headers ?? {}),
          ].join(", "),
        }
      : {};

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]);
    const range = req.headers.range ?? null;
    state.log.push({ method: req.method ?? "GET", path, range });
    if (state.cors && req.method === "OPTIONS") {
      // A preflight: allow what the store sends (a Range header on GET and HEAD).
      res.writeHead(204, {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, HEAD",
        "Access-Control-Allow-Headers": "Range, Cache-Control",
        "Access-Control-Max-Age": "600",
      });
      res.end();
      return;
    }
    const failure = state.failWith.get(path);
    if (failure) {
      res.writeHead(failure, { "Content-Type": "text/plain", ...corsHeaders(undefined) });
      res.end(`status ${failure}`);
      return;
    }
    const file = state.files.get(path);
    if (!file) {
      res.writeHead(404, { "Content-Type": "text/plain", ...corsHeaders(undefined) });
      res.end("not found");
      return;
    }
    const size = file.bytes.length;
    const extra = state.lieLength.get(path) ?? 0;
    const unsized = state.noLength.has(path);
    const announced = size + extra;
    const common: Record<string, string> = {
      "Content-Type": "application/octet-stream",
      ...(state.ignoreRange ? {} : { "Accept-Ranges": "bytes" }),
      ...(file.etag ? { ETag: file.etag } : {}),
      ...file.headers,
      ...corsHeaders(file),
    };
    const parsed = state.ignoreRange ? null : parseRange(range ?? undefined, announced);
    if (parsed === "bad") {
      res.writeHead(416, { ...common, "Content-Range": `bytes */${size}` });
      res.end();
      return;
    }
    const [start, claimedEnd] = parsed ?? [0, announced - 1];
    const end = Math.min(claimedEnd, size - 1);
    const headers: Record<string, string> = { ...common };
    if (!unsized) headers["Content-Length"] = String(claimedEnd - start + 1);
    if (parsed) {
      headers["Content-Range"] = `bytes ${start}-${claimedEnd}/${unsized ? "*" : announced}`;
    }
    res.writeHead(parsed ? 206 : 200, headers);
    // Headers go out now, so that a response dropped before its first byte still arrives.
    res.flushHeaders();
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    // Where this response stops: the first pending cut or clean end inside it, a drop
    // after `dropEvery` bytes, or the end of the bytes it has.
    const cuts = state.cutAt.get(path) ?? [];
    const cutIndex = cuts.findIndex((c) => c > start && c <= end);
    const ends = state.endAt.get(path) ?? [];
    const endIndex = ends.findIndex((c) => c > start && c <= end);
    const every = state.dropEvery.get(path);
    let stop = end + 1;
    let drop = extra > 0 && claimedEnd > end;
    if (cutIndex >= 0 && cuts[cutIndex] < stop) {
      stop = cuts[cutIndex];
      drop = true;
    }
    if (endIndex >= 0 && ends[endIndex] < stop) {
      stop = ends[endIndex];
      drop = false;
    }
    if (every !== undefined && start + every < stop) {
      stop = start + every;
      drop = true;
    }
    if (cutIndex >= 0 && stop === cuts[cutIndex]) cuts.splice(cutIndex, 1);
    if (endIndex >= 0 && stop === ends[endIndex]) ends.splice(endIndex, 1);
    const finish = () => {
      if (!drop) res.end();
      // Close the connection mid-body: every byte written still arrives (a FIN, not a
      // reset, so the count of bytes sent is what the client got), then the body fails.
      else res.socket?.end();
    };
    if (stop <= start) {
      // Nothing to send: let the headers arrive first, as a real server's would.
      setTimeout(finish, 20);
      return;
    }
    const pace = state.pace;
    let source = file;
    const send = (from: number) => {
      if (res.destroyed) return;
      const swap = state.swapAt.get(path);
      let to = pace ? Math.min(stop, from + pace.bytes) : stop;
      if (swap && source === file) {
        if (from >= swap.at) {
          source = swap.file;
          state.files.set(path, swap.file);
          state.swapAt.delete(path);
        } else to = Math.min(to, swap.at);
      }
      state.bytesSent += to - from;
      const piece = Buffer.from(source.bytes.buffer, source.bytes.byteOffset + from, to - from);
      res.write(piece, () => {
        if (to >= stop) finish();
        else setTimeout(() => send(to), pace?.everyMs ?? 0);
      });
    };
    send(start);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const result = state as RangeServer;
  result.url = `http://127.0.0.1:${port}`;
  result.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return result;
}
