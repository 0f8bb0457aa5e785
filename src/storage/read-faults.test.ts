// Reading a stored model back when the browser's storage fails (issue 19's WebKit flake:
// '"…gguf" is stored but did not load: The I/O read operation failed'): a read fault is
// read again and, if it lasts, told in words with the model kept ready; only bytes that do
// not load mark the model failed.
import "fake-indexeddb/auto";
import { createStore, entries, set } from "idb-keyval";
import { describe, expect, it } from "vitest";
import { readGgufHeader } from "../engine/gguf/blob.ts";
import { ModelLibrary, type ModelLibraryOptions } from "./model-library.ts";
import { bitnetFile, sha } from "./testing/gguf-files.ts";
import { hookedChunkStore } from "./testing/hooked-chunk-store.ts";

const CHUNK = 16 * 1024;
const PIECE = 2048;
let n = 0;

function options(extra: Partial<ModelLibraryOptions> = {}): ModelLibraryOptions {
  return {
    dbPrefix: `read-faults-${++n}`,
    chunkSize: CHUNK,
    pieceSize: PIECE,
    storage: null,
    locks: null,
    online: null,
    channel: null,
    ...extra,
  };
}

/** WebKit's words when it fails to read a stored value back. */
const ioFault = () => new DOMException("The I/O read operation failed.", "NotReadableError");

/** A Blob whose reads fail while `faults.left` lasts (counting down), then read its bytes. */
function faultyBlob(blob: Blob, faults: { left: number }): Blob {
  const read = (part: Blob) => async () => {
    if (faults.left-- > 0) throw ioFault();
    return part.arrayBuffer();
  };
  return {
    size: blob.size,
    slice: (start?: number, end?: number) => {
      const part = blob.slice(start, end);
      return { size: part.size, arrayBuffer: read(part) } as Blob;
    },
    arrayBuffer: read(blob),
  } as Blob;
}

async function storedModel(seed: number, extra: Partial<ModelLibraryOptions> = {}) {
  const bytes = bitnetFile(3 * CHUNK + 77, seed);
  const store = new ModelLibrary(options(extra));
  const info = await store.addFromFile(new File([bytes], `model-${seed}.gguf`));
  expect(info.state).toBe("ready");
  return { store, id: info.id, bytes };
}

const whole = async (blob: Blob) => new Uint8Array(await blob.arrayBuffer());

describe("stored values", () => {
  it("read back byte-identical whether Blobs, ArrayBuffers (WebKit private) or a mix", async () => {
    const opts = options();
    const { store, id, bytes } = await storedModel(71, opts);
    const chunks = createStore(`${opts.dbPrefix}-model-chunks`, "chunks");
    const stored = await entries<IDBValidKey, unknown>(chunks);
    expect(stored.length).toBeGreaterThan(3);
    // Every other piece as bytes, as a store that began with Blobs and then fell back.
    for (const [i, [key, value]] of stored.entries()) {
      if (i % 2 === 1) await set(key, await (value as Blob).arrayBuffer(), chunks);
    }
    const kinds = (await entries<IDBValidKey, unknown>(chunks)).map(([, v]) => v instanceof Blob);
    expect(new Set(kinds)).toEqual(new Set([true, false]));
    expect(sha(await whole(await store.openBlob(id)))).toBe(sha(bytes));
  });
});

describe("ModelLibrary.loadStored", () => {
  it("reads again after the browser fails to read the stored bytes, and loads", async () => {
    const { store, id, bytes } = await storedModel(72);
    const faults = { left: 2 };
    let calls = 0;
    const header = await store.loadStored(id, (blob) => {
      calls++;
      return readGgufHeader(faultyBlob(blob, faults));
    });
    expect(calls).toBe(3);
    expect(header.tensors.length).toBeGreaterThan(0);
    expect((await store.record(id))?.state).toBe("ready");
    expect(sha(await whole(await store.openBlob(id)))).toBe(sha(bytes));
  });

  it("reads again after IndexedDB fails a read (UnknownError)", async () => {
    const opts = options();
    const prefix = opts.dbPrefix as string;
    const reads = { fail: 0, failed: 0 };
    const chunks = hookedChunkStore(prefix, {
      // IndexedDB's own read error (Chromium: "Failed to read large IndexedDB value").
      getAll: () => {
        if (reads.failed < reads.fail) {
          reads.failed++;
          throw new DOMException("Failed to read", "UnknownError");
        }
      },
    });
    const { store, id, bytes } = await storedModel(73, {
      ...opts,
      stores: { records: createStore(`${prefix}-models`, "records"), chunks },
    });
    reads.fail = 1;
    const loaded = await store.loadStored(id, whole);
    expect(reads.failed).toBe(1);
    expect(sha(loaded)).toBe(sha(bytes));
  });

  it("a read fault that lasts is told in words, and the model stays ready", async () => {
    const { store, id } = await storedModel(74);
    let calls = 0;
    const error = await store
      .loadStored(id, (blob) => {
        calls++;
        return readGgufHeader(faultyBlob(blob, { left: Number.POSITIVE_INFINITY }));
      })
      .catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(error).toMatchObject({ name: "StoreError", code: "storage" });
    expect((error as Error).message).toBe(
      '"model-74.gguf" is stored, but the browser failed to read it back 3 times (The I/O read operation failed.). It is kept: try again, or reload the page.',
    );
    const [listed] = await store.list();
    expect(listed).toMatchObject({ state: "ready" });
    expect(listed.error).toBeUndefined();
  });

  it("bytes that do not load mark the model failed, at once, in the loader's words", async () => {
    const { store, id } = await storedModel(75);
    let calls = 0;
    await expect(
      store.loadStored(id, async () => {
        calls++;
        throw new Error('tensor "blk.0.attn_q.weight" has an unknown type 99');
      }),
    ).rejects.toThrow(/unknown type 99/);
    expect(calls).toBe(1);
    const [listed] = await store.list();
    expect(listed).toMatchObject({ state: "failed" });
    expect(listed.error).toBe(
      '"model-75.gguf" is stored but did not load: tensor "blk.0.attn_q.weight" has an unknown type 99',
    );
  });

  it("a fault the caller places elsewhere (out of memory) keeps the model ready", async () => {
    const { store, id } = await storedModel(76);
    await expect(
      store.loadStored(
        id,
        async () => {
          throw new RangeError("WebAssembly.Memory(): could not allocate memory");
        },
        { keepsModel: (e) => e instanceof RangeError },
      ),
    ).rejects.toThrow(/could not allocate/);
    expect((await store.record(id))?.state).toBe("ready");
  });
});
