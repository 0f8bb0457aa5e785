import "fake-indexeddb/auto";
import { createStore } from "idb-keyval";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../../test-support/random-weights.ts";
import { errorText } from "./errors.ts";
import { ModelLibrary, type ModelLibraryOptions, type ModelRecord } from "./model-library.ts";
import type { DownloadProgress } from "./model-types.ts";
import { hubFileChecksum, hubLocation } from "./published-checksum.ts";
import { bitnetFile, sha } from "./testing/gguf-files.ts";
import { hookedChunkStore } from "./testing/hooked-chunk-store.ts";
import { type RangeServer, startRangeServer } from "./testing/range-server.ts";

// Every fault ends byte-identical or failed in words; none ends "ready" with other bytes.

const CHUNK = 16 * 1024;
const PIECE = 2048;

let server: RangeServer;
let n = 0;

beforeAll(async () => {
  server = await startRangeServer();
});
afterAll(async () => {
  await server.close();
});

function options(extra: Partial<ModelLibraryOptions> = {}): ModelLibraryOptions {
  return {
    dbPrefix: `faults-${++n}`,
    chunkSize: CHUNK,
    pieceSize: PIECE,
    retries: 3,
    retryDelayMs: 0,
    storage: null,
    locks: null,
    online: null,
    progressIntervalMs: 0,
    ...extra,
  };
}

function serve(name: string, bytes: Uint8Array, headers?: Record<string, string>): string {
  const path = `/${++n}/${name}`;
  server.files.set(path, { bytes, etag: `"${sha(bytes).slice(0, 12)}"`, headers });
  return server.url + path;
}

const pathOf = (url: string) => new URL(url).pathname;
const gets = (url: string) =>
  server.log.filter((l) => l.path === pathOf(url) && l.method === "GET");

async function stored(store: ModelLibrary, id: string): Promise<string> {
  return sha(new Uint8Array(await (await store.openBlob(id)).arrayBuffer()));
}

/** Progress as the UI sees it never goes backwards (within one run). */
function monotone(events: DownloadProgress[]): void {
  for (let i = 1; i < events.length; i++) {
    expect(events[i].bytes).toBeGreaterThanOrEqual(events[i - 1].bytes);
  }
}

describe("drops", () => {
  it("finishes over a link that drops every 5000 bytes (inside chunks), sending each byte once", async () => {
    const bytes = bitnetFile(12 * CHUNK + 321, 40);
    const url = serve("every.gguf", bytes);
    server.dropEvery.set(pathOf(url), 5000);
    const sentBefore = server.bytesSent;
    const events: DownloadProgress[] = [];
    const store = new ModelLibrary(options());
    const info = await store.addFromUrl([url], (p) => events.push(p));
    expect(info.state).toBe("ready");
    expect(await stored(store, info.id)).toBe(sha(bytes));
    expect(gets(url).length).toBe(Math.ceil(bytes.length / 5000));
    // Nothing was fetched twice: no byte lost to any of the drops.
    expect(server.bytesSent - sentBefore).toBe(bytes.length);
    monotone(events);
  });

  it("drops at 30 random offsets, with reloads between, end byte-identical", async () => {
    const bytes = bitnetFile(15 * CHUNK + 99, 41);
    const url = serve("random.gguf", bytes);
    const next = mulberry32(41);
    const cuts = [
      ...new Set(Array.from({ length: 30 }, () => 1 + Math.floor(next() * (bytes.length - 1)))),
    ];
    cuts.sort((a, b) => a - b);
    server.cutAt.set(pathOf(url), [...cuts]); // the server uses its copy up
    const opts = options({ retries: 0 });
    let store = new ModelLibrary(opts);
    let info = await store.addFromUrl([url]);
    for (let i = 0; info.state !== "ready"; i++) {
      expect(info).toMatchObject({ state: "paused", storedBytes: cuts[i] });
      if (i % 3 === 0) store = new ModelLibrary(opts); // a reload
      info = await store.resume(info.id);
    }
    expect(await stored(store, info.id)).toBe(sha(bytes));
  });

  it("pause mid-chunk keeps every byte that arrived; resume asks for the next one", async () => {
    const bytes = bitnetFile(8 * CHUNK, 42);
    const url = serve("pause.gguf", bytes);
    const store = new ModelLibrary(options());
    const events: DownloadProgress[] = [];
    let seenAtPause = 0;
    server.pace = { bytes: 1000, everyMs: 1 };
    let info = await store
      .addFromUrl([url], (p) => {
        events.push(p);
        if (!seenAtPause && p.bytes >= CHUNK + 3000) {
          seenAtPause = p.bytes;
          void store.pause(p.modelId);
        }
      })
      .finally(() => {
        server.pace = null;
      });
    expect(info.state).toBe("paused");
    expect(info.storedBytes % CHUNK).not.toBe(0);
    expect(info.storedBytes).toBeGreaterThanOrEqual(seenAtPause);
    expect(info.note).toMatch(/Paused with/);
    monotone(events);
    const pausedAt = info.storedBytes;
    info = await store.resume(info.id, (p) => events.push(p));
    expect(info.state).toBe("ready");
    expect(gets(url).at(-1)?.range).toBe(`bytes=${pausedAt}-`);
    monotone(events);
    expect(await stored(store, info.id)).toBe(sha(bytes));
  });
});

describe("lengths", () => {
  it("a length announced 1000 bytes too large ends failed in words, not in a stall", async () => {
    const bytes = bitnetFile(6 * CHUNK, 43);
    const url = serve("liar.gguf", bytes);
    server.lieLength.set(pathOf(url), 1000);
    const store = new ModelLibrary(options());
    const info = await store.addFromUrl([url]);
    expect(info.state).toBe("failed");
    expect(info.error).toMatch(
      /stops sending at byte 98304 of the 99304 it announced, 3 times in a row\. Its length is wrong/,
    );
    // Every byte it had was kept; the retries asked only for the missing tail.
    expect(info.storedBytes).toBe(bytes.length);
    expect(
      gets(url)
        .slice(1)
        .every((l) => l.range?.startsWith(`bytes=${bytes.length}-`)),
    ).toBe(true);
  });

  it("an early end with no length announced resumes by the GGUF's tensor table", async () => {
    const bytes = bitnetFile(9 * CHUNK, 44);
    const url = serve("unsized.gguf", bytes);
    server.noLength.add(pathOf(url));
    server.endAt.set(pathOf(url), [3 * CHUNK + 17]);
    const store = new ModelLibrary(options());
    const notes: string[] = [];
    const info = await store.addFromUrl([url], (p) => p.note && notes.push(p.note));
    expect(info.state).toBe("ready");
    expect(notes.some((n) => /before the end of the file's tensors/.test(n))).toBe(true);
    expect(await stored(store, info.id)).toBe(sha(bytes));
  });

  it("a file that really ends early, with no length, fails in words and is never ready", async () => {
    const full = bitnetFile(9 * CHUNK, 45);
    const url = serve("short.gguf", full.slice(0, 5 * CHUNK + 5));
    server.noLength.add(pathOf(url));
    const store = new ModelLibrary(options());
    const info = await store.addFromUrl([url]);
    expect(info.state).toBe("failed");
    expect(info.error).toMatch(/ends at byte 81925, but its tensor table needs bytes up to \d+/);
    await expect(store.openBlob(info.id)).rejects.toThrow(/not ready/);
  });
});

describe("a file that changes on one open connection", () => {
  it("without a published checksum: noticed by its new ETag, downloaded again", async () => {
    const oldBytes = bitnetFile(6 * CHUNK, 46);
    const newBytes = bitnetFile(6 * CHUNK, 47);
    const url = serve("swap.gguf", oldBytes);
    server.swapAt.set(pathOf(url), {
      at: 3 * CHUNK + 100,
      file: { bytes: newBytes, etag: '"new"' },
    });
    const store = new ModelLibrary(options());
    const notes: string[] = [];
    const info = await store.addFromUrl([url], (p) => p.note && notes.push(p.note));
    expect(info.state).toBe("ready");
    expect(notes.some((n) => /changed on the server while it downloaded/.test(n))).toBe(true);
    expect(await stored(store, info.id)).toBe(sha(newBytes));
  });

  it("with a published checksum and no new ETag: fails in words, keeps nothing", async () => {
    const oldBytes = bitnetFile(6 * CHUNK, 48);
    const newBytes = bitnetFile(6 * CHUNK, 49);
    const url = serve("swap-sha.gguf", oldBytes, { "X-Linked-Etag": sha(oldBytes) });
    const etag = server.files.get(pathOf(url))?.etag;
    server.swapAt.set(pathOf(url), { at: 2 * CHUNK + 5, file: { bytes: newBytes, etag } });
    const store = new ModelLibrary(options());
    const info = await store.addFromUrl([url]);
    expect(info.state).toBe("failed");
    expect(info.error).toMatch(/does not match its published SHA-256 checksum/);
    expect(info.storedBytes).toBe(0);
  });
});

describe("Hugging Face's published checksum (a local mock of its model API)", () => {
  const repo = "microsoft/bitnet-test-gguf";
  function publish(bytes: Uint8Array, listed: { sha: string; size: number }) {
    const file = `/${repo}/resolve/main/ggml-model-i2_s.gguf`;
    server.files.set(file, { bytes, etag: `"cdn-${n++}"` });
    const tree = [
      { type: "file", path: "README.md", size: 10, oid: "0".repeat(40) },
      {
        type: "file",
        path: "ggml-model-i2_s.gguf",
        size: listed.size,
        oid: "1".repeat(40),
        lfs: { oid: listed.sha, size: listed.size, pointerSize: 134 },
      },
    ];
    server.files.set(`/api/models/${repo}/tree/main`, {
      bytes: new TextEncoder().encode(JSON.stringify(tree)),
      headers: { "Content-Type": "application/json" },
    });
    return server.url + file;
  }

  it("reads the file's LFS SHA-256 from /api/models/<repo>/tree/<rev> and checks it", async () => {
    expect(
      hubLocation(`https://huggingface.co/${repo}/resolve/main/a/b.gguf?download=true`),
    ).toEqual({ origin: "https://huggingface.co", repo, revision: "main", path: "a/b.gguf" });
    const bytes = bitnetFile(5 * CHUNK, 50);
    const url = publish(bytes, { sha: sha(bytes), size: bytes.length });
    expect(await hubFileChecksum(url, fetch)).toEqual({ sha256: sha(bytes), size: bytes.length });
    const store = new ModelLibrary(options());
    const info = await store.addFromUrl([url]);
    expect(info.state).toBe("ready");
    const shard = ((await store.record(info.id)) as ModelRecord).shards[0];
    expect(shard.sha256).toBe(sha(bytes));
    expect(shard.streamedSha256).toBe(sha(bytes));
  });

  it("a served file that differs from the published one fails in words (same size, other size)", async () => {
    const published = bitnetFile(5 * CHUNK, 51);
    const served = bitnetFile(5 * CHUNK, 52);
    const store = new ModelLibrary(options());
    const url = publish(served, { sha: sha(published), size: published.length });
    const info = await store.addFromUrl([url]);
    expect(info).toMatchObject({ state: "failed", storedBytes: 0 });
    expect(info.error).toMatch(/does not match its published SHA-256 checksum/);
    await store.delete(info.id);

    const longer = bitnetFile(6 * CHUNK, 53);
    const url2 = publish(longer, { sha: sha(published), size: published.length });
    const info2 = await store.addFromUrl([url2]);
    expect(info2.state).toBe("failed");
    expect(info2.error).toMatch(/sends 9\d{4} bytes, but its publisher lists 8\d{4}/);
  });

  it("asks no API for a URL that is not a Hub resolve URL", async () => {
    const before = server.log.length;
    const bytes = bitnetFile(2 * CHUNK, 54);
    const info = await new ModelLibrary(options()).addFromUrl([serve("plain.gguf", bytes)]);
    expect(info.state).toBe("ready");
    expect(server.log.slice(before).some((l) => l.path.startsWith("/api/"))).toBe(false);
  });
});

describe("back online", () => {
  it("pauses after retries when offline, then continues by itself on the online event", async () => {
    const bytes = bitnetFile(6 * CHUNK, 55);
    const url = serve("online.gguf", bytes);
    let offline = false;
    let wentOffline = false;
    const online = new EventTarget();
    const flaky: typeof fetch = (input, init) =>
      offline ? Promise.reject(new TypeError("Failed to fetch")) : fetch(input, init);
    server.cutAt.set(pathOf(url), [2 * CHUNK + 11]);
    const store = new ModelLibrary(options({ fetch: flaky, online, retries: 2 }));
    const events: DownloadProgress[] = [];
    const first = store.addFromUrl([url], (p) => {
      events.push(p);
      // The network goes at the cut (once).
      if (!wentOffline && p.bytes >= 2 * CHUNK + 11) wentOffline = offline = true;
    });
    const paused = await first;
    expect(paused.state).toBe("paused");
    expect(paused.note).toMatch(
      /Could not reach .* continues by itself when the browser is back online/,
    );
    offline = false;
    online.dispatchEvent(new Event("online"));
    for (let i = 0; i < 200 && (await store.record(paused.id))?.state !== "ready"; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await store.record(paused.id))?.state).toBe("ready");
    // The first call's listener hears the end of the resumed download.
    expect(events.at(-1)?.state).toBe("ready");
    expect(await stored(store, paused.id)).toBe(sha(bytes));
  });
});

describe("browsers' storage quirks (issue 19)", () => {
  /** A chunk store whose puts go through `put` (to refuse some as WebKit does). */
  const wrapped = (prefix: string, put: (value: unknown) => void) =>
    hookedChunkStore(prefix, { put });

  it("stores bytes when IndexedDB refuses Blob values with a bare null (WebKit private)", async () => {
    const opts = options();
    const prefix = opts.dbPrefix as string;
    let blobsRefused = 0;
    const chunks = wrapped(prefix, (value) => {
      if (value instanceof Blob) {
        blobsRefused++;
        throw null;
      }
    });
    const store = new ModelLibrary({
      ...opts,
      stores: { records: createStore(`${prefix}-models`, "records"), chunks },
    });
    const bytes = bitnetFile(4 * CHUNK + 9, 56);
    const info = await store.addFromUrl([serve("webkit.gguf", bytes)]);
    expect(info.state).toBe("ready");
    expect(blobsRefused).toBe(1); // asked once, then bytes from there on
    expect(await stored(store, info.id)).toBe(sha(bytes));
  });

  it("a write refused with a bare null ends in words, never as 'null'", async () => {
    const opts = options();
    const prefix = opts.dbPrefix as string;
    const chunks = wrapped(prefix, () => {
      throw null;
    });
    const store = new ModelLibrary({
      ...opts,
      stores: { records: createStore(`${prefix}-models`, "records"), chunks },
    });
    const info = await store.addFromUrl([serve("refused.gguf", bitnetFile(3 * CHUNK, 57))]);
    expect(info.state).toBe("failed");
    expect(info.error).toBe("The browser refused to store the model (the browser gave no reason).");
    expect(errorText(null)).not.toMatch(/null/);
  });

  it("reports what Trit stores, and no browser figures where there is no Storage API", async () => {
    const store = new ModelLibrary(options());
    const bytes = bitnetFile(2 * CHUNK + 1, 58);
    await store.addFromUrl([serve("figures.gguf", bytes)]);
    expect(await store.estimate()).toEqual({
      modelBytes: bytes.length,
      usedBytes: null,
      quotaBytes: null,
      persisted: null,
    });
  });
});

describe("weights that fail to load", () => {
  it("mark the model failed; Retry downloads it again from its URL", async () => {
    const bytes = bitnetFile(3 * CHUNK, 59);
    const url = serve("noload.gguf", bytes);
    const store = new ModelLibrary(options());
    const info = await store.addFromUrl([url]);
    expect(info.state).toBe("ready");
    await store.markFailed(info.id, new Error("tensor blk.0.attn_q.weight has an unknown type"));
    const [listed] = await store.list();
    expect(listed).toMatchObject({ state: "failed" });
    expect(listed.error).toMatch(/"noload\.gguf" is stored but did not load: tensor blk\.0/);
    await expect(store.openBlob(info.id)).rejects.toThrow(/not ready/);
    const before = gets(url).length;
    const again = await store.resume(info.id);
    expect(again.state).toBe("ready");
    expect(gets(url).slice(before)[0]?.range).toBe("bytes=0-");
    expect(await stored(store, info.id)).toBe(sha(bytes));
  });
});
