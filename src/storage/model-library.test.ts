// The model library end to end over a local HTTP server and fake IndexedDB: downloads,
// resume, split files, checks, locks. One file (~580 lines) for the facade's whole contract;
// the fault-injection cases live in download-faults.test.ts.
import "fake-indexeddb/auto";
import { createStore, keys, set, type UseStore } from "idb-keyval";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../../test-support/random-weights.ts";
import { readGgufHeader, readTensorBytes } from "../engine/gguf/blob.ts";
import { ModelLibrary, type ModelLibraryOptions, type ModelRecord } from "./model-library.ts";
import type { DownloadProgress } from "./model-types.ts";
import type { StartValidator } from "./start-check.ts";
import { bitnetFile, noise, sha, tensorFile } from "./testing/gguf-files.ts";
import { MemoryLockManager } from "./testing/memory-locks.ts";
import { type RangeServer, startRangeServer } from "./testing/range-server.ts";

const CHUNK = 16 * 1024;

const roomy = {
  estimate: async () => ({ usage: 0, quota: 1e12 }),
  persist: async () => true,
  persisted: async () => true,
};

let server: RangeServer;
let dbCount = 0;

beforeAll(async () => {
  server = await startRangeServer();
});
afterAll(async () => {
  await server.close();
});

function storeOptions(extra: Partial<ModelLibraryOptions> = {}): ModelLibraryOptions {
  return {
    dbPrefix: `store-test-${++dbCount}`,
    chunkSize: CHUNK,
    retries: 0,
    retryDelayMs: 0,
    storage: roomy,
    locks: null,
    progressIntervalMs: 0,
    ...extra,
  };
}

/** Serves `bytes` at a fresh path and returns its URL. */
function serve(
  name: string,
  bytes: Uint8Array,
  etag = `"${sha(bytes).slice(0, 16)}"`,
  headers?: Record<string, string>,
): string {
  const path = `/${++dbCount}/${name}`;
  server.files.set(path, { bytes, etag, headers });
  return server.url + path;
}

function pathOf(url: string): string {
  return new URL(url).pathname;
}

/** Reads a stored model back (as the loader does) and checks the chunk layout on the way. */
async function readBack(store: ModelLibrary, id: string, shard?: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const rec = (await store.record(id)) as ModelRecord;
  const shards = shard === undefined ? rec.shards.map((_, i) => i) : [shard];
  for (const s of shards) {
    const blob = await store.openBlob(id, s);
    const size = rec.shards[s].size ?? -1;
    expect(blob.size).toBe(size);
    expect(rec.shards[s].chunks).toBe(Math.ceil(size / CHUNK));
    expect(rec.shards[s].hashes).toHaveLength(rec.shards[s].chunks);
    parts.push(new Uint8Array(await blob.arrayBuffer()));
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function chunkKeys(dbPrefix: string, id: string): Promise<IDBValidKey[]> {
  const all = await keys(createStore(`${dbPrefix}-model-chunks`, "chunks"));
  return all.filter((k) => Array.isArray(k) && k[0] === id);
}

describe("ModelLibrary downloads", () => {
  it("stores a file as fixed-size chunks with a hash per chunk, byte-identical", async () => {
    const bytes = bitnetFile(5 * CHUNK + 123, 1);
    const url = serve("one.gguf", bytes);
    const opts = storeOptions();
    const store = new ModelLibrary(opts);
    const events: DownloadProgress[] = [];
    const info = await store.addFromUrl([url], (p) => events.push(p));
    expect(info).toMatchObject({
      state: "ready",
      storedBytes: bytes.length,
      totalBytes: bytes.length,
    });
    expect(info.name).toBe("one.gguf");
    expect(sha(await readBack(store, info.id))).toBe(sha(bytes));
    const rec = (await store.record(info.id)) as ModelRecord;
    expect(bytes.length).toBeGreaterThan(5 * CHUNK);
    expect(bytes.length).toBeLessThan(6 * CHUNK);
    expect(rec.shards[0].chunks).toBe(6);
    expect(rec.shards[0].hashes).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => sha(bytes.subarray(i * CHUNK, (i + 1) * CHUNK))),
    );
    expect(await chunkKeys(opts.dbPrefix as string, info.id)).toHaveLength(6);
    // Progress counts up to the total and ends ready.
    expect(events.at(-1)).toMatchObject({
      state: "ready",
      bytes: bytes.length,
      total: bytes.length,
    });
    const bytesSeen = events.map((e) => e.bytes);
    expect([...bytesSeen].sort((a, b) => a - b)).toEqual(bytesSeen);
    // Asking again does not download again.
    const gets = server.log.filter((l) => l.method === "GET").length;
    expect((await store.addFromUrl([url])).state).toBe("ready");
    expect(server.log.filter((l) => l.method === "GET").length).toBe(gets);
    expect(await store.list()).toEqual([info]);
  });

  it("resumes from 20 random cut points (and reloads) from the exact byte, byte-identical", async () => {
    const bytes = bitnetFile(20 * CHUNK + 777, 2);
    const size = bytes.length;
    // A published checksum too: its running hash must survive every cut and reload.
    const url = serve("cut.gguf", bytes, undefined, { "X-Linked-Etag": sha(bytes) });
    const path = pathOf(url);
    const next = mulberry32(20);
    const cuts = Array.from({ length: 20 }, () => 1 + Math.floor(next() * (size - 1)));
    server.cutAt.set(
      path,
      [...cuts].sort((a, b) => a - b),
    );
    // Pieces smaller than a chunk: each chunk is written in several parts.
    const opts = storeOptions({ pieceSize: 4096 });
    let store = new ModelLibrary(opts);
    const sentBefore = server.bytesSent;
    const sortedCuts = [...cuts].sort((a, b) => a - b);
    let info = await store.addFromUrl([url]);
    let rounds = 0;
    while (info.state !== "ready") {
      expect(info.state).toBe("paused");
      expect(info.note).toMatch(/connection (dropped|closed early)/i);
      // Nothing that arrived is lost: the store holds every byte up to the cut.
      expect(info.storedBytes).toBe(sortedCuts[rounds]);
      // Every other round plays a reload: a new store over the same database.
      if (rounds % 2 === 1) store = new ModelLibrary(opts);
      info = await store.resume(info.id);
      rounds++;
      expect(rounds).toBeLessThanOrEqual(21);
    }
    expect(rounds).toBeGreaterThanOrEqual(10);
    expect(sha(await readBack(store, info.id))).toBe(sha(bytes));
    expect((await store.record(info.id))?.shards[0].streamedSha256).toBe(sha(bytes));
    // Each request asked for the byte after the last one stored, never from zero again.
    const ranges = server.log
      .filter((l) => l.path === path && l.method === "GET")
      .map((l) => l.range);
    expect(ranges[0]).toBe("bytes=0-");
    expect(ranges.slice(1)).toEqual(sortedCuts.map((c) => `bytes=${c}-`));
    expect(server.bytesSent - sentBefore).toBe(size);
  });

  it("retries a dropped connection on its own before giving up", async () => {
    const bytes = bitnetFile(6 * CHUNK, 3);
    const url = serve("retry.gguf", bytes);
    server.cutAt.set(pathOf(url), [CHUNK + 10, 3 * CHUNK + 5]);
    const store = new ModelLibrary(storeOptions({ retries: 2 }));
    const notes: string[] = [];
    const info = await store.addFromUrl([url], (p) => p.note && notes.push(p.note));
    expect(info.state).toBe("ready");
    expect(notes.filter((n) => /Retrying/.test(n))).toHaveLength(2);
    expect(sha(await readBack(store, info.id))).toBe(sha(bytes));
  });

  it("restarts from zero, with a note, when the server ignores Range", async () => {
    const bytes = bitnetFile(4 * CHUNK + 1, 4);
    const url = serve("norange.gguf", bytes);
    server.cutAt.set(pathOf(url), [2 * CHUNK + 100]);
    const store = new ModelLibrary(storeOptions());
    server.ignoreRange = true;
    try {
      const notes: string[] = [];
      let info = await store.addFromUrl([url], (p) => p.note && notes.push(p.note));
      expect(info.state).toBe("paused");
      expect(info.storedBytes).toBe(2 * CHUNK + 100);
      info = await store.resume(info.id, (p) => p.note && notes.push(p.note));
      expect(info.state).toBe("ready");
      expect(notes.some((n) => /does not support resuming/.test(n) && /beginning/.test(n))).toBe(
        true,
      );
      expect(sha(await readBack(store, info.id))).toBe(sha(bytes));
    } finally {
      server.ignoreRange = false;
    }
  });

  it("notices a file that changed on the server (ETag) and downloads the new one", async () => {
    const oldBytes = bitnetFile(4 * CHUNK, 5);
    const url = serve("changing.gguf", oldBytes, '"v1"');
    const path = pathOf(url);
    server.cutAt.set(path, [2 * CHUNK + 50]);
    const store = new ModelLibrary(storeOptions());
    let info = await store.addFromUrl([url]);
    expect(info.state).toBe("paused");
    const newBytes = bitnetFile(4 * CHUNK, 6);
    server.files.set(path, { bytes: newBytes, etag: '"v2"' });
    const notes: string[] = [];
    info = await store.resume(info.id, (p) => p.note && notes.push(p.note));
    expect(info.state).toBe("ready");
    expect(notes.some((n) => /changed on the server/.test(n))).toBe(true);
    expect(sha(await readBack(store, info.id))).toBe(sha(newBytes));
  });

  it("downloads a split set from its first shard URL, shards in order", async () => {
    const shards = [bitnetFile(3 * CHUNK + 9, 7), tensorFile(CHUNK / 4, 8), tensorFile(25, 9)];
    const total = shards.reduce((sum, b) => sum + b.length, 0);
    const dir = `/${++dbCount}`;
    shards.forEach((b, i) => {
      server.files.set(`${dir}/m-0000${i + 1}-of-00003.gguf`, { bytes: b, etag: `"s${i}"` });
    });
    const store = new ModelLibrary(storeOptions());
    const info = await store.addFromUrl([`${server.url}${dir}/m-00001-of-00003.gguf`]);
    expect(info).toMatchObject({
      state: "ready",
      name: "m.gguf (3 parts)",
      totalBytes: total,
    });
    expect(info.urls).toHaveLength(3);
    for (let s = 0; s < 3; s++) expect(sha(await readBack(store, info.id, s))).toBe(sha(shards[s]));
    const all = await readBack(store, info.id);
    expect(all.length).toBe(total);
    expect((await store.openBlob(info.id, 2)).size).toBe(shards[2].length);
  });

  it("pauses and resumes", async () => {
    const bytes = bitnetFile(8 * CHUNK, 10);
    const url = serve("pause.gguf", bytes);
    const store = new ModelLibrary(storeOptions());
    let paused = false;
    // A slow link: every byte that arrived is kept now, so the pause must come mid-way.
    server.pace = { bytes: 4096, everyMs: 1 };
    let info = await store
      .addFromUrl([url], (p) => {
        if (!paused && p.bytes >= CHUNK) {
          paused = true;
          void store.pause(p.modelId);
        }
      })
      .finally(() => {
        server.pace = null;
      });
    expect(info.state).toBe("paused");
    expect(info.storedBytes).toBeLessThan(bytes.length);
    expect((await store.list())[0].state).toBe("paused");
    info = await store.resume(info.id);
    expect(info.state).toBe("ready");
    expect(sha(await readBack(store, info.id))).toBe(sha(bytes));
  });

  it("cancel stops a download and removes what it stored; delete removes every chunk", async () => {
    const a = bitnetFile(6 * CHUNK, 11);
    const b = bitnetFile(3 * CHUNK, 12);
    const opts = storeOptions();
    const prefix = opts.dbPrefix as string;
    const store = new ModelLibrary(opts);
    const urlA = serve("a.gguf", a);
    let cancelling: Promise<void> | null = null;
    const pending = store.addFromUrl([urlA], (p) => {
      if (!cancelling && p.bytes >= 2 * CHUNK) cancelling = store.cancel(p.modelId);
    });
    await expect(pending).rejects.toThrow(/cancelled/);
    await cancelling;
    expect(await store.list()).toEqual([]);
    expect(await chunkKeys(prefix, `url:${urlA}`)).toEqual([]);

    const infoA = await store.addFromUrl([urlA]);
    const infoB = await store.addFromUrl([serve("b.gguf", b)]);
    expect(await chunkKeys(prefix, infoA.id)).toHaveLength(6);
    await store.delete(infoA.id);
    expect(await chunkKeys(prefix, infoA.id)).toEqual([]);
    expect((await store.list()).map((m) => m.id)).toEqual([infoB.id]);
    expect(sha(await readBack(store, infoB.id))).toBe(sha(b));
  });

  it("stores a local File, and picking it again after an interruption continues", async () => {
    const bytes = bitnetFile(3 * CHUNK + 5, 13);
    const file = new File([bytes], "local.gguf");
    const store = new ModelLibrary(storeOptions());
    const info = await store.addFromFile(file);
    expect(info).toMatchObject({ state: "ready", name: "local.gguf", urls: [] });
    expect(sha(await readBack(store, info.id))).toBe(sha(bytes));
    expect((await store.addFromFile(file)).state).toBe("ready");
  });
});

describe("ModelLibrary.openBlob", () => {
  it("joins a shard's stored chunks into one Blob the GGUF reader can slice", async () => {
    const bytes = bitnetFile(7 * CHUNK, 30);
    const store = new ModelLibrary(storeOptions());
    const info = await store.addFromUrl([serve("blob.gguf", bytes)]);
    const blob = await store.openBlob(info.id);
    expect(blob.size).toBe(bytes.length);
    expect(sha(new Uint8Array(await blob.arrayBuffer()))).toBe(sha(bytes));
    // A slice across a chunk boundary.
    const slice = new Uint8Array(await blob.slice(CHUNK - 10, 2 * CHUNK + 10).arrayBuffer());
    expect(slice).toEqual(bytes.subarray(CHUNK - 10, 2 * CHUNK + 10));
    const header = await readGgufHeader(blob);
    expect(header.metadata["general.architecture"]).toBe("bitnet");
    const embd = header.tensors.find((t) => t.name === "token_embd.weight");
    if (!embd) throw new Error("token_embd.weight missing");
    const start = header.dataOffset + embd.offset;
    expect(await readTensorBytes(blob, header, embd)).toEqual(
      bytes.subarray(start, start + embd.byteLength),
    );
    await expect(store.openBlob(info.id, 1)).rejects.toThrow(/has no shard 1/);
  });
});

describe("ModelLibrary refusals and errors, in words", () => {
  it("does not refuse on a low estimate: it says so, tries, and the model ends ready", async () => {
    // Issue 19: WebKit reported 1.05 GB free, then stored 1.19 GB. An estimate is a guess;
    // only the browser's refusal of a write (next test) stops a download.
    const bytes = bitnetFile(10 * CHUNK, 14);
    const url = serve("big.gguf", bytes);
    const store = new ModelLibrary(
      storeOptions({ storage: { estimate: async () => ({ usage: 1000, quota: 4 * CHUNK }) } }),
    );
    const notes: string[] = [];
    const info = await store.addFromUrl([url], (p) => p.note && notes.push(p.note));
    expect(info.state).toBe("ready");
    expect(
      notes.some((n) => /reports 64\.5 kB free .* needs 164 kB more: trying anyway/.test(n)),
    ).toBe(true);
    expect(sha(await readBack(store, info.id))).toBe(sha(bytes));
  });

  it("stops cleanly on a quota error mid-download, keeps the stored chunks, then resumes", async () => {
    const bytes = bitnetFile(7 * CHUNK, 15);
    const url = serve("quota.gguf", bytes);
    const opts = storeOptions();
    const prefix = opts.dbPrefix as string;
    const base = createStore(`${prefix}-model-chunks`, "chunks");
    let writesLeft = 3;
    // A chunk store whose writes fail like a full disk once `writesLeft` runs out.
    const chunks: UseStore = (mode, callback) =>
      base(mode, (store) =>
        callback({
          get: (key: IDBValidKey) => store.get(key),
          getAll: (query: IDBKeyRange) => store.getAll(query),
          delete: (key: IDBValidKey | IDBKeyRange) => store.delete(key),
          transaction: store.transaction,
          put: (value: unknown, key?: IDBValidKey) => {
            if (writesLeft-- <= 0) throw new DOMException("Quota exceeded", "QuotaExceededError");
            return store.put(value, key);
          },
        } as unknown as IDBObjectStore),
      );
    const store = new ModelLibrary({
      ...opts,
      stores: { records: createStore(`${prefix}-models`, "records"), chunks },
    });
    let info = await store.addFromUrl([url]);
    expect(info.state).toBe("paused");
    expect(info.note).toMatch(/Not enough storage.*49\.2 kB stored so far are kept/);
    expect(info.storedBytes).toBe(3 * CHUNK);
    expect(await chunkKeys(prefix, info.id)).toHaveLength(3);
    writesLeft = Number.POSITIVE_INFINITY;
    info = await store.resume(info.id);
    expect(info.state).toBe("ready");
    expect(sha(await readBack(store, info.id))).toBe(sha(bytes));
  });

  it("rejects a file that is not GGUF on its first bytes and keeps nothing", async () => {
    const page = new TextEncoder().encode(`<!DOCTYPE html><html>${"x".repeat(20 * CHUNK)}</html>`);
    const url = serve("page.gguf", page);
    const opts = storeOptions();
    let pushed = 0;
    const store = new ModelLibrary(opts); // default validator: the GGUF magic check
    const info = await store.addFromUrl([url]);
    expect(info.state).toBe("failed");
    expect(info.error).toMatch(
      /"page\.gguf" was refused: the server sent a web page, not a GGUF file/,
    );
    expect(info.storedBytes).toBe(0);
    expect(await chunkKeys(opts.dbPrefix as string, info.id)).toEqual([]);

    // An injected validator (e.g. the GGUF stream parser) is fed from byte 0 and stops it early.
    const v9 = bitnetFile(20 * CHUNK, 16);
    v9[4] = 9; // a version nobody reads
    const spy = (): StartValidator => ({
      push(bytes) {
        pushed += bytes.length;
        if (bytes[4] === 9) throw new Error("unsupported GGUF version 9");
        return null;
      },
    });
    const store2 = new ModelLibrary(storeOptions({ validator: spy }));
    const info2 = await store2.addFromUrl([serve("v9.gguf", v9)]);
    expect(info2.error).toMatch(/unsupported GGUF version 9/);
    expect(pushed).toBeLessThan(v9.length);
  });

  it("rejects a GGUF that is not a BitNet model, and bytes that are not GGUF at all", async () => {
    const store = new ModelLibrary(storeOptions());
    const llama = await store.addFromUrl([serve("llama.gguf", bitnetFile(4 * CHUNK, 23, "llama"))]);
    expect(llama.state).toBe("failed");
    expect(llama.error).toMatch(
      /"llama\.gguf" was refused: .*architecture "llama" is not a BitNet model/,
    );
    const random = new Uint8Array(3 * CHUNK);
    noise(random, 0, 24);
    const junk = await store.addFromUrl([serve("junk.gguf", random)]);
    expect(junk.error).toMatch(/"junk\.gguf" was refused: .*not a GGUF file/);
    expect(junk.storedBytes).toBe(0);
  });

  it("reports HTTP errors in words: before (404) and during a download (500)", async () => {
    const store = new ModelLibrary(storeOptions());
    await expect(store.addFromUrl([`${server.url}/nothing-here.gguf`])).rejects.toThrow(
      /not found at 127\.0\.0\.1:\d+\/nothing-here\.gguf \(HTTP 404\)/,
    );
    const bytes = bitnetFile(4 * CHUNK, 17);
    const url = serve("flaky.gguf", bytes);
    server.cutAt.set(pathOf(url), [2 * CHUNK + 1]);
    let info = await store.addFromUrl([url]);
    expect(info.state).toBe("paused");
    server.failWith.set(pathOf(url), 503);
    info = await store.resume(info.id);
    expect(info.state).toBe("failed");
    expect(info.error).toMatch(/server failed while sending .*flaky\.gguf \(HTTP 503\)/);
    expect(info.storedBytes).toBe(2 * CHUNK + 1);
    server.failWith.delete(pathOf(url));
    info = await store.resume(info.id);
    expect(info.state).toBe("ready");
    expect(sha(await readBack(store, info.id))).toBe(sha(bytes));
  });

  it("checks a published SHA-256 and finds a damaged chunk, then repairs by resuming", async () => {
    const bytes = bitnetFile(5 * CHUNK + 3, 18);
    const published = { "X-Linked-Etag": `"${sha(bytes)}"` };
    const good = serve("sha.gguf", bytes, undefined, published);
    const opts = storeOptions();
    const store = new ModelLibrary(opts);
    const info = await store.addFromUrl([good]);
    expect(info.state).toBe("ready");
    const shard = (await store.record(info.id))?.shards[0];
    expect(shard?.sha256).toBe(sha(bytes));
    // Hashed on the way in, so the final check needed no second pass over the chunks.
    expect(shard?.streamedSha256).toBe(sha(bytes));

    // Damage chunk 3 in storage behind the store's back.
    const chunkStore = createStore(`${opts.dbPrefix}-model-chunks`, "chunks");
    await set([info.id, 0, 2], new Uint8Array(CHUNK), chunkStore);
    const checked = await store.verify(info.id);
    expect(checked.state).toBe("failed");
    const count = Math.ceil(bytes.length / CHUNK);
    expect(checked.error).toMatch(new RegExp(`chunk 3 of ${count} is damaged`));
    const repaired = await store.resume(info.id);
    expect(repaired.state).toBe("ready");
    expect(sha(await readBack(store, info.id))).toBe(sha(bytes));

    const wrong = bitnetFile(2 * CHUNK, 19);
    const bad = serve("badsha.gguf", wrong, undefined, published);
    const failed = await store.addFromUrl([bad]);
    expect(failed.state).toBe("failed");
    expect(failed.error).toMatch(/does not match its published SHA-256 checksum/);
  });

  it("finishes a shard whose bytes were all stored before a crash (416 from the server)", async () => {
    const bytes = bitnetFile(3 * CHUNK, 26);
    const url = serve("crashed.gguf", bytes);
    const opts = storeOptions();
    const store = new ModelLibrary(opts);
    const info = await store.addFromUrl([url]);
    // The tab died after storing the last chunk, before marking the shard complete.
    const rec = (await store.record(info.id)) as ModelRecord;
    rec.state = "paused";
    rec.shards[0].complete = false;
    await set(info.id, rec, createStore(`${opts.dbPrefix}-models`, "records"));
    const done = await store.resume(info.id);
    expect(done.state).toBe("ready");
    // The last GET (a HEAD after it checks the file did not change meanwhile).
    const last = server.log.filter((l) => l.path === pathOf(url) && l.method === "GET").at(-1);
    expect(last?.range).toBe(`bytes=${bytes.length}-`);
    expect(sha(await readBack(store, info.id))).toBe(sha(bytes));
  });

  it("explains what it cannot do: unknown ids, loading an unfinished model, a file to pick again", async () => {
    const store = new ModelLibrary(storeOptions());
    await expect(store.resume("url:nope")).rejects.toThrow(/No stored model has the id "url:nope"/);
    const bytes = bitnetFile(3 * CHUNK, 20);
    const url = serve("half.gguf", bytes);
    server.cutAt.set(pathOf(url), [CHUNK + 1]);
    const info = await store.addFromUrl([url]);
    await expect(store.openBlob(info.id)).rejects.toThrow(/not ready to load \(it is paused\)/);
  });
});

describe("ModelLibrary across tabs", () => {
  it("lets one tab write; the other watches its progress, waits, and never writes", async () => {
    const bytes = bitnetFile(8 * CHUNK, 21);
    const url = serve("tabs.gguf", bytes);
    const path = pathOf(url);
    const locks = new MemoryLockManager();
    const opts = storeOptions({ locks, watchIntervalMs: 5 });
    const tabA = new ModelLibrary(opts);
    const tabB = new ModelLibrary(opts);
    const notesB: string[] = [];
    let second: Promise<unknown> | null = null;
    let deleteRefusal: Promise<unknown> | null = null;
    const infoA = await tabA.addFromUrl([url], (p) => {
      if (!second && p.bytes >= CHUNK) {
        second = tabB.addFromUrl([url], (q) => q.note && notesB.push(q.note));
        deleteRefusal = tabB.delete(p.modelId).catch((e: Error) => e.message);
      }
    });
    expect(infoA.state).toBe("ready");
    expect(await second).toMatchObject({ state: "ready", storedBytes: bytes.length });
    expect(await deleteRefusal).toMatch(/Another tab is downloading this model/);
    expect(notesB.some((n) => /Another tab is downloading/.test(n))).toBe(true);
    // One download only: every GET asked for different bytes.
    const gets = server.log.filter((l) => l.path === path && l.method === "GET");
    expect(gets).toHaveLength(1);
    expect(sha(await readBack(tabB, infoA.id))).toBe(sha(bytes));
  });

  it("pauses a download that another tab runs", async () => {
    const bytes = bitnetFile(8 * CHUNK, 25);
    const url = serve("remote-pause.gguf", bytes);
    const opts = storeOptions({ locks: new MemoryLockManager() });
    const tabA = new ModelLibrary(opts);
    const tabB = new ModelLibrary(opts);
    let asked = false;
    server.pace = { bytes: 4096, everyMs: 2 };
    const info = await tabA
      .addFromUrl([url], (p) => {
        if (!asked && p.bytes >= CHUNK) {
          asked = true;
          void tabB.pause(p.modelId);
        }
      })
      .finally(() => {
        server.pace = null;
      });
    tabA.close();
    tabB.close();
    expect(asked).toBe(true);
    expect(info.state).toBe("paused");
    expect(info.storedBytes).toBeLessThan(bytes.length);
  });

  it("shows a download left running by a closed tab as paused, and resumes it", async () => {
    const bytes = bitnetFile(4 * CHUNK, 22);
    const url = serve("closed.gguf", bytes);
    server.cutAt.set(pathOf(url), [2 * CHUNK + 7]);
    const locks = new MemoryLockManager();
    const opts = storeOptions({ locks });
    const first = new ModelLibrary(opts);
    const info = await first.addFromUrl([url]);
    // The tab closed mid-download: its record still says "downloading".
    const records = createStore(`${opts.dbPrefix}-models`, "records");
    const rec = (await first.record(info.id)) as ModelRecord;
    await set(info.id, { ...rec, state: "downloading" }, records);
    const reloaded = new ModelLibrary(opts);
    const listed = await reloaded.list();
    expect(listed[0]).toMatchObject({ state: "paused", storedBytes: 2 * CHUNK + 7 });
    expect(listed[0].note).toMatch(/Interrupted/);
    const done = await reloaded.resume(info.id);
    expect(done.state).toBe("ready");
    expect(sha(await readBack(reloaded, info.id))).toBe(sha(bytes));
  });
});
