import { createStore, del, get, promisifyRequest, set, type UseStore, values } from "idb-keyval";
import { errorText, isQuotaError, StoreError } from "./errors.ts";
import type { ModelRecord } from "./records.ts";

/**
 * Where a model's records and bytes live in IndexedDB (idb-keyval), and nothing else.
 *
 * Keys of the chunk store: [modelId, shard, chunk] for a whole chunk (as earlier versions
 * stored them) and [modelId, shard, chunk, offset] for a piece of a chunk written as it
 * arrived. IndexedDB sorts array keys element by element, so every value of one chunk lies
 * in the key range [id, shard, chunk] … [id, shard, chunk, []], in byte order.
 */
export class ChunkDb {
  private readonly records: UseStore;
  private readonly chunks: UseStore;
  /**
   * Blob values first: browsers keep them on disk and openBlob() joins them without
   * reading them into memory. WebKit's private and automation sessions refuse Blob values
   * (with a bare null): then ArrayBuffers, which every engine stores.
   */
  private blobValues = typeof Blob === "function";

  constructor(prefix: string, stores?: { records: UseStore; chunks: UseStore }) {
    // idb-keyval keeps one object store per database: records and chunks live apart,
    // so listing models never loads chunk bytes.
    this.records = stores?.records ?? createStore(`${prefix}-models`, "records");
    this.chunks = stores?.chunks ?? createStore(`${prefix}-model-chunks`, "chunks");
  }

  getRecord(id: string): Promise<ModelRecord | undefined> {
    return get<ModelRecord>(id, this.records);
  }

  saveRecord(rec: ModelRecord): Promise<void> {
    return set(rec.id, rec, this.records);
  }

  deleteRecord(id: string): Promise<void> {
    return del(id, this.records);
  }

  listRecords(): Promise<ModelRecord[]> {
    return values<ModelRecord>(this.records);
  }

  /**
   * Stores the bytes of a chunk from `offset` on (the caller hands `bytes` over). Throws the browser's quota error as it
   * is (the caller words it with the model's name) and any other refusal in words.
   */
  async putPiece(
    id: string,
    shard: number,
    chunk: number,
    offset: number,
    bytes: Uint8Array,
  ): Promise<void> {
    const key = [id, shard, chunk, offset];
    if (this.blobValues) {
      try {
        await set(key, new Blob([bytes as Uint8Array<ArrayBuffer>]), this.chunks);
        return;
      } catch (e) {
        if (isQuotaError(e)) throw e;
        // Refused as a Blob (WebKit's private sessions): store bytes from now on.
        this.blobValues = false;
      }
    }
    try {
      const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      await set(key, whole ? bytes.buffer : bytes.slice().buffer, this.chunks);
    } catch (e) {
      if (isQuotaError(e)) throw e;
      throw new StoreError("storage", `The browser refused to store the model (${errorText(e)}).`);
    }
  }

  /** A chunk's stored bytes (its pieces joined), or undefined when none are stored. */
  async readChunk(id: string, shard: number, chunk: number): Promise<Uint8Array | undefined> {
    const parts = await this.getAll(IDBKeyRange.bound([id, shard, chunk], [id, shard, chunk, []]));
    if (parts.length === 0) return undefined;
    const arrays = await Promise.all(parts.map(toBytes));
    if (arrays.length === 1) return arrays[0];
    const out = new Uint8Array(arrays.reduce((sum, a) => sum + a.length, 0));
    let at = 0;
    for (const a of arrays) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  }

  /** A chunk's stored values as Blob parts, in byte order (no copy for Blob values). */
  async chunkParts(id: string, shard: number, chunk: number): Promise<BlobPart[]> {
    const parts = await this.getAll(IDBKeyRange.bound([id, shard, chunk], [id, shard, chunk, []]));
    return parts.map((p) => (p instanceof Blob ? p : (p as ArrayBuffer | Uint8Array<ArrayBuffer>)));
  }

  /**
   * Deletes every value of a model, of one shard, or of one shard from a byte on (given
   * as a chunk and an offset inside it).
   */
  async deleteFrom(id: string, shard?: number, chunk = 0, offset = 0): Promise<void> {
    const lower =
      shard === undefined ? [id] : offset === 0 ? [id, shard, chunk] : [id, shard, chunk, offset];
    const upper = shard === undefined ? [id, []] : [id, shard, []];
    await this.chunks("readwrite", (store) => {
      store.delete(IDBKeyRange.bound(lower, upper));
      return promisifyRequest(store.transaction);
    });
  }

  private getAll(range: IDBKeyRange): Promise<unknown[]> {
    return this.chunks("readonly", (store) => promisifyRequest(store.getAll(range)));
  }
}

async function toBytes(value: unknown): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  throw new StoreError("damaged", "A stored piece of the model is not bytes.");
}
