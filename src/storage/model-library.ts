import type { UseStore } from "idb-keyval";
import { ChunkDb } from "./chunk-db.ts";
import { DownloadJobs, type StorageLike } from "./download-jobs.ts";
import { errorText, formatBytes, isStorageReadFault, StoreError } from "./errors.ts";
import { defaultLocks, type LockManagerLike, modelLockName } from "./locks.ts";
import type { StorageFigures } from "./model-types.ts";
import { normaliseSha } from "./published-checksum.ts";
import { RangeFetcher } from "./range-fetcher.ts";
import {
  emptyShard,
  type ModelInfo,
  type ModelRecord,
  type ProgressListener,
  totalOf,
  view,
} from "./records.ts";
import { expandSplitUrls, modelNameFromUrls } from "./split-urls.ts";
import { bitnetStartCheck, type ValidatorFactory } from "./start-check.ts";

export type { StorageLike } from "./download-jobs.ts";
export type { ModelInfo, ModelRecord, ProgressListener, ShardRecord } from "./records.ts";

export interface ModelLibraryOptions {
  /** IndexedDB database names start with this (tests use a fresh one each). */
  dbPrefix?: string;
  /** Bytes per stored chunk (the unit of the stored hashes); 32 MiB by default. */
  chunkSize?: number;
  /** Bytes stored at a time as they arrive: the most a crashed tab loses (1 MiB by default). */
  pieceSize?: number;
  fetch?: typeof fetch;
  /** navigator.storage by default; null to skip quota figures. */
  storage?: StorageLike | null;
  /** navigator.locks by default; null to skip cross-tab locking. */
  locks?: LockManagerLike | null;
  /** Checks the start of each shard as it arrives; bitnetStartCheck by default. */
  validator?: ValidatorFactory;
  /** Failed attempts in a row, without progress, before a download pauses (default 5). */
  retries?: number;
  /** First retry delay, doubling each time (default 1000 ms) up to maxRetryDelayMs (30 s). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** How often a waiting tab re-reads the progress of the tab that writes (default 1000 ms). */
  watchIntervalMs?: number;
  /** Least time between two progress events for bytes in flight (default 250 ms). */
  progressIntervalMs?: number;
  /**
   * Tabs of one origin tell each other to pause over this BroadcastChannel (default
   * "<dbPrefix>-model-store"); null to stay silent.
   */
  channel?: string | null;
  /** Fires "online" when the network comes back: the global scope by default; null for none. */
  online?: EventTarget | null;
  /** The IndexedDB stores, to wrap them in tests (e.g. to fail writes with a quota error). */
  stores?: { records: UseStore; chunks: UseStore };
  now?: () => number;
}

const MiB = 1024 * 1024;

/**
 * The models this browser keeps: downloads GGUF models with HTTP Range requests into
 * IndexedDB, resumes from the exact byte after a drop, a pause or a reload, calls a model
 * ready only once its bytes are complete and checked, and hands a ready one to the loader.
 *
 * A facade over the parts that do the work: RangeFetcher (HTTP), ChunkDb (IndexedDB),
 * shard-download (bytes into pieces and chunks), integrity (what "ready" needs) and
 * DownloadJobs (one job per model, locks across tabs, retries, pause, back online).
 */
export class ModelLibrary {
  private readonly db: ChunkDb;
  private readonly jobs: DownloadJobs;
  private readonly chunkSize: number;
  private readonly fetcher: RangeFetcher;
  private readonly storage: StorageLike | null;
  private readonly channel: BroadcastChannel | null;
  private readonly now: () => number;

  constructor(options: ModelLibraryOptions = {}) {
    const prefix = options.dbPrefix ?? "trit";
    this.chunkSize = options.chunkSize ?? 32 * MiB;
    const pieceSize = options.pieceSize ?? Math.min(MiB, this.chunkSize);
    for (const [what, n] of [
      ["chunk size", this.chunkSize],
      ["piece size", pieceSize],
    ] as const) {
      if (!Number.isInteger(n) || n <= 0) {
        throw new StoreError("bad-input", `The ${what} must be a positive integer, not ${n}.`);
      }
    }
    const fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const nav = (globalThis as { navigator?: { storage?: StorageLike } }).navigator;
    const global = globalThis as unknown as Partial<EventTarget>;
    this.storage = options.storage === undefined ? (nav?.storage ?? null) : options.storage;
    this.now = options.now ?? (() => Date.now());
    this.db = new ChunkDb(prefix, options.stores);
    this.fetcher = new RangeFetcher(fetch);
    this.jobs = new DownloadJobs({
      db: this.db,
      fetcher: this.fetcher,
      fetch,
      storage: this.storage,
      locks: options.locks === undefined ? defaultLocks() : options.locks,
      validator: options.validator ?? bitnetStartCheck,
      pieceSize,
      retries: options.retries ?? 5,
      retryDelayMs: options.retryDelayMs ?? 1000,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
      watchIntervalMs: options.watchIntervalMs ?? 1000,
      progressIntervalMs: options.progressIntervalMs ?? 250,
      online:
        options.online !== undefined
          ? options.online
          : typeof global.addEventListener === "function"
            ? (global as EventTarget)
            : null,
      now: this.now,
    });
    const channelName = options.channel === undefined ? `${prefix}-model-store` : options.channel;
    this.channel =
      channelName !== null && typeof BroadcastChannel === "function"
        ? new BroadcastChannel(channelName)
        : null;
    if (this.channel) {
      // Node keeps a process alive while a channel is open; browsers have no unref.
      (this.channel as { unref?: () => void }).unref?.();
      this.channel.onmessage = (event: MessageEvent<{ pause?: string }>) => {
        const id = event.data?.pause;
        if (typeof id === "string") void this.jobs.stop(id, "pause");
      };
    }
  }

  /** Stops listening to other tabs (downloads running in this tab carry on). */
  close(): void {
    this.channel?.close();
  }

  // ---- What is stored -------------------------------------------------------------

  /** Every model, oldest first. A download left "downloading" by a closed tab shows as paused. */
  async list(): Promise<ModelInfo[]> {
    const recs = (await this.db.listRecords()).sort((a, b) => a.createdAt - b.createdAt);
    const held = await this.jobs.heldLocks();
    return recs.map((rec) => {
      const busy = this.jobs.isRunning(rec.id) || held?.has(modelLockName(rec.id));
      if (
        (rec.state === "downloading" || rec.state === "verifying") &&
        !busy &&
        held !== undefined
      ) {
        return { ...view(rec), state: "paused" as const, note: "Interrupted: resume to continue." };
      }
      return view(rec);
    });
  }

  /** The full record of one model (shards, chunk hashes), or undefined. */
  record(id: string): Promise<ModelRecord | undefined> {
    return this.db.getRecord(id);
  }

  /**
   * What Trit's models take (the sum of their stored bytes) beside the browser's own figures
   * for this site; the browser's are null when it has no Storage API.
   */
  async estimate(): Promise<StorageFigures> {
    const recs = await this.db.listRecords();
    const modelBytes = recs.reduce((sum, r) => sum + r.storedBytes, 0);
    const est = await this.storage?.estimate().catch(() => undefined);
    const persisted = this.storage?.persisted
      ? await this.storage.persisted().catch(() => null)
      : null;
    return {
      modelBytes,
      usedBytes: est?.usage ?? null,
      quotaBytes: est?.quota ?? null,
      persisted,
    };
  }

  // ---- Adding models --------------------------------------------------------------

  /**
   * Downloads a model by URL: one GGUF, a split set given by any one of its shard URLs
   * (…-00001-of-0000N.gguf), or shard URLs in order. A model already stored is returned
   * as it is; a partial one resumes. Resolves when the download ends: "ready", or
   * "paused"/"failed" with the reason in `note`/`error`. Refusals before anything is
   * stored (bad URL, HTTP error) reject with a StoreError in words.
   * `sha256` optionally gives each shard's published checksum (hex).
   */
  async addFromUrl(
    urls: string[],
    onProgress?: ProgressListener,
    options: { sha256?: (string | null)[] } = {},
  ): Promise<ModelInfo> {
    const shardUrls = expandSplitUrls(urls);
    const id = `url:${shardUrls[0]}`;
    if ((await this.record(id)) !== undefined) return this.resume(id, onProgress);

    const heads = await Promise.all(shardUrls.map((url) => this.fetcher.head(url)));
    const rec: ModelRecord = {
      id,
      name: modelNameFromUrls(shardUrls),
      urls: shardUrls,
      totalBytes: null,
      storedBytes: 0,
      state: "downloading",
      source: "url",
      chunkSize: this.chunkSize,
      createdAt: this.now(),
      shards: shardUrls.map((url, i) => {
        const given = normaliseSha(options.sha256?.[i]);
        return {
          ...emptyShard(url),
          size: heads[i].size,
          sha256: given ?? heads[i].sha256,
          sha256Given: given !== null,
        };
      }),
    };
    rec.totalBytes = totalOf(rec);
    if ((await this.record(id)) === undefined) await this.db.saveRecord(rec);
    return this.resume(id, onProgress);
  }

  /**
   * Stores a GGUF the user picked (or the shards of a split set, in order). Picking the
   * same file again after an interruption continues where it stopped.
   */
  async addFromFile(file: File | File[], onProgress?: ProgressListener): Promise<ModelInfo> {
    const files = Array.isArray(file) ? file : [file];
    if (files.length === 0) throw new StoreError("bad-input", "No file was given.");
    const id = `file:${files.map((f) => `${f.name}:${f.size}`).join("|")}`;
    let rec = await this.record(id);
    if (rec === undefined) {
      rec = {
        id,
        name: files.length === 1 ? files[0].name : `${files[0].name} (${files.length} parts)`,
        urls: [],
        totalBytes: files.reduce((s, f) => s + f.size, 0),
        storedBytes: 0,
        state: "downloading",
        source: "file",
        chunkSize: this.chunkSize,
        createdAt: this.now(),
        shards: files.map((f) => ({ ...emptyShard(f.name), size: f.size })),
      };
      await this.db.saveRecord(rec);
    }
    return this.jobs.start(id, onProgress, files);
  }

  /**
   * Continues a paused, interrupted or failed download (a failed one from the URL again
   * where its bytes were of no use). When another tab is writing the model, reports that
   * tab's progress until it lets go, then continues if needed.
   */
  async resume(id: string, onProgress?: ProgressListener): Promise<ModelInfo> {
    const rec = await this.jobs.mustRecord(id);
    if (rec.state === "ready" && !this.jobs.isRunning(id)) return view(rec);
    if (rec.source === "file" && !this.jobs.isRunning(id)) {
      throw new StoreError(
        "needs-file",
        `"${rec.name}" was imported from a local file: pick the file again to continue.`,
      );
    }
    return this.jobs.start(id, onProgress, null);
  }

  /** Stops the download of a model, in this tab or another one, keeping every byte that arrived. */
  async pause(id: string): Promise<void> {
    if (!(await this.jobs.stop(id, "pause"))) this.channel?.postMessage({ pause: id });
  }

  /** Stops a download and removes everything stored for it. */
  async cancel(id: string): Promise<void> {
    await this.delete(id);
  }

  /** Removes a model and every byte of it. Refused while another tab writes it. */
  async delete(id: string): Promise<void> {
    await this.jobs.stop(id, "cancel");
    const done = await this.jobs.withLock(id, true, async () => {
      await this.db.deleteFrom(id);
      await this.db.deleteRecord(id);
      return true;
    });
    if (done === null) {
      throw new StoreError(
        "busy",
        "Another tab is downloading this model: pause it (or close that tab) first.",
      );
    }
  }

  /**
   * Re-checks a stored model: sizes, its header and tensor table, every chunk against the
   * hash recorded when it was stored, and the published checksum. Marks it ready or failed.
   */
  async verify(id: string, onProgress?: ProgressListener): Promise<ModelInfo> {
    if (this.jobs.isRunning(id)) {
      throw new StoreError(
        "busy",
        "This model is downloading: it is checked when the download ends.",
      );
    }
    const result = await this.jobs.verify(id, onProgress);
    if (result === null)
      throw new StoreError("busy", "Another tab is writing this model right now.");
    return result;
  }

  /**
   * Marks a stored model failed because its weights did not load, with the reason; a
   * retry then downloads it again from its URL.
   */
  async markFailed(id: string, reason: unknown): Promise<ModelInfo | undefined> {
    return (
      (await this.jobs.withLock(id, true, async () => {
        const rec = await this.record(id);
        if (!rec) return undefined;
        rec.state = "failed";
        rec.error = `"${rec.name}" is stored but did not load: ${errorText(reason)}`;
        rec.refetch = rec.source === "url";
        await this.db.saveRecord(rec);
        return view(rec);
      })) ?? undefined
    );
  }

  // ---- Reading a stored model -------------------------------------------------------

  /**
   * Loads a ready model: runs `load` on one shard of it (openBlob). When the browser fails
   * to read the stored bytes back (isStorageReadFault: a storage fault, not the model's), it
   * opens and reads it again, up to `attempts` times in all; a fault that lasts ends in a
   * StoreError in words and the model stays ready. Any other error of `load` means the bytes
   * do not load: the model is marked failed (markFailed) unless `keepsModel(error)` says the
   * fault is elsewhere (the device ran out of memory), and the error is thrown as it is.
   */
  async loadStored<T>(
    id: string,
    load: (blob: Blob) => Promise<T>,
    options: {
      shard?: number;
      attempts?: number;
      keepsModel?: (error: unknown) => boolean;
      /** The shard already opened by the caller, for the first attempt. */
      opened?: Blob;
    } = {},
  ): Promise<T> {
    const { shard = 0, attempts = 3, keepsModel = () => false } = options;
    for (let attempt = 1; ; attempt++) {
      let blob: Blob | undefined;
      try {
        blob = attempt === 1 && options.opened ? options.opened : await this.openBlob(id, shard);
        return await load(blob);
      } catch (e) {
        if (!isStorageReadFault(e)) {
          // openBlob's own refusals (not ready, a chunk missing) leave the record as it is.
          if (blob && !keepsModel(e)) await this.markFailed(id, e).catch(() => undefined);
          throw e;
        }
        if (attempt >= attempts) {
          const name = (await this.record(id).catch(() => undefined))?.name ?? "The model";
          throw new StoreError(
            "storage",
            `"${name}" is stored, but the browser failed to read it back ${attempts} times (${errorText(e)}). It is kept: try again, or reload the page.`,
          );
        }
      }
    }
  }

  /**
   * One shard of a ready model as a Blob joined from its stored pieces: in a browser
   * Blob values stay on disk, so the GGUF reader (readGgufHeader, readTensorBytes) can
   * slice it without a second copy of the model in memory. Byte values (WebKit's private
   * sessions) are joined one chunk at a time.
   */
  async openBlob(id: string, shard = 0): Promise<Blob> {
    const rec = await this.jobs.mustRecord(id);
    if (rec.state !== "ready") {
      throw new StoreError("bad-input", `"${rec.name}" is not ready to load (it is ${rec.state}).`);
    }
    const info = rec.shards[shard];
    if (!info) throw new StoreError("bad-input", `"${rec.name}" has no shard ${shard}.`);
    // every chunk's read at once: a transaction each, one after another, costs a few
    // milliseconds apiece (75 chunks in a 2B4T file)
    const chunks = await Promise.all(
      Array.from({ length: info.chunks }, (_, i) => this.db.chunkParts(id, shard, i)),
    );
    const missing = chunks.findIndex((parts) => parts.length === 0);
    if (missing >= 0) {
      throw new StoreError(
        "damaged",
        `Chunk ${missing + 1} of "${rec.name}" is missing from storage (was the model deleted in another tab?).`,
      );
    }
    const blob = new Blob(chunks.flat());
    if (blob.size !== info.size) {
      throw new StoreError(
        "damaged",
        `"${rec.name}" holds ${formatBytes(blob.size)} in storage instead of ${formatBytes(info.size ?? 0)}.`,
      );
    }
    return blob;
  }
}
