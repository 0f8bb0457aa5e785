import {
  createStore,
  del,
  get,
  getMany,
  promisifyRequest,
  set,
  type UseStore,
  values,
} from "idb-keyval";
import {
  describeUrl,
  errorText,
  formatBytes,
  httpErrorMessage,
  isQuotaError,
  StoreError,
} from "./errors.ts";
import { defaultLocks, type LockManagerLike, modelLockName } from "./locks.ts";
import type { DownloadProgress, StoredModel } from "./model-types.ts";
import { RateMeter } from "./rate-meter.ts";
import { Sha256, type Sha256State, sha256Hex } from "./sha256.ts";
import { expandSplitUrls, modelNameFromUrls } from "./split-urls.ts";
import { bitnetStartCheck, type StartValidator, type ValidatorFactory } from "./start-check.ts";

/** One file of a model (a split GGUF has several), as stored. */
export interface ShardRecord {
  /** URL, or the file name for a local file. */
  source: string;
  /** Bytes, once known (from the server or the file). */
  size: number | null;
  /** The server's validators, to notice a file that changed between two requests. */
  etag: string | null;
  lastModified: string | null;
  /** Chunks stored, in order from 0; every one but the shard's last is chunkSize long. */
  chunks: number;
  /** SHA-256 (hex) of each stored chunk, recorded on the way, checked before "ready". */
  hashes: string[];
  storedBytes: number;
  /** The start of the file passed the validator. */
  checked: boolean;
  /** SHA-256 (hex) of the whole shard, when the caller or the server published one. */
  sha256: string | null;
  /**
   * With a published checksum: the SHA-256 of the stored chunks, run as they arrive, so
   * the final check needs no second pass; and its result once the shard is whole.
   */
  runningSha256: Sha256State | null;
  streamedSha256: string | null;
  complete: boolean;
}

/** What the store keeps about a model. StoredModel (what the UI sees) is a view of it. */
export interface ModelRecord extends StoredModel {
  source: "url" | "file";
  chunkSize: number;
  shards: ShardRecord[];
  /** Something the user should know about the last run (a pause, a restart, a quota stop). */
  note?: string;
  createdAt: number;
}

/** StoredModel plus the last note, when there is one. */
export type ModelInfo = StoredModel & { note?: string };

/** One stored chunk as it is read back: which shard, where in it, and its bytes. */
export interface StoredChunk {
  shard: number;
  offset: number;
  bytes: Uint8Array;
}

/** The part of navigator.storage the store uses. */
export interface StorageLike {
  estimate(): Promise<{ usage?: number; quota?: number }>;
  persist?(): Promise<boolean>;
  persisted?(): Promise<boolean>;
}

export interface ModelStoreOptions {
  /** IndexedDB database names start with this (tests use a fresh one each). */
  dbPrefix?: string;
  /** Bytes per stored chunk; 32 MiB by default. */
  chunkSize?: number;
  fetch?: typeof fetch;
  /** navigator.storage by default; null to skip quota checks. */
  storage?: StorageLike | null;
  /** navigator.locks by default; null to skip cross-tab locking. */
  locks?: LockManagerLike | null;
  /** Checks the start of each shard as it arrives; bitnetStartCheck by default. */
  validator?: ValidatorFactory;
  /** Automatic retries after a dropped connection before pausing (default 3). */
  retries?: number;
  /** First retry delay, doubling each time (default 1000 ms). */
  retryDelayMs?: number;
  /** How often a waiting tab re-reads the progress of the tab that writes (default 1000 ms). */
  watchIntervalMs?: number;
  /** Least time between two progress events for bytes in flight (default 250 ms). */
  progressIntervalMs?: number;
  /**
   * Tabs of one origin tell each other to pause over this BroadcastChannel (default
   * "<dbPrefix>-model-store"); null to stay silent.
   */
  channel?: string | null;
  /** The IndexedDB stores, to wrap them in tests (e.g. to fail writes with a quota error). */
  stores?: { records: UseStore; chunks: UseStore };
  now?: () => number;
}

export type ProgressListener = (p: DownloadProgress) => void;

const MiB = 1024 * 1024;

/** A dropped connection or a truncated body: what is stored is kept, and it can resume. */
class Dropped extends Error {}

/** One download running in this tab. */
interface Job {
  /** Set once the job holds the model's lock and has read its record. */
  rec: ModelRecord;
  controller: AbortController;
  listeners: Set<ProgressListener>;
  meter: RateMeter;
  files: File[] | null;
  lastEmit: number;
  /** While a body is read: its shard and the shard offset of the next byte to arrive. */
  receiving: { shard: number; offset: number } | null;
  promise: Promise<ModelInfo>;
}

type ChunkKey = [string, number, number];

/**
 * The model store: downloads GGUF models with HTTP Range requests into fixed-size
 * chunks in IndexedDB (idb-keyval), resumes after a dropped connection or a reload,
 * checks what it stored, and reads it back chunk by chunk. One tab writes a model at a
 * time (Web Locks); another tab that asks for the same model watches and waits.
 */
export class ModelStore {
  private readonly records: UseStore;
  private readonly chunks: UseStore;
  private readonly chunkSize: number;
  private readonly fetch: typeof fetch;
  private readonly storage: StorageLike | null;
  private readonly locks: LockManagerLike | null;
  private readonly validator: ValidatorFactory;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly watchIntervalMs: number;
  private readonly progressIntervalMs: number;
  private readonly now: () => number;
  private readonly jobs = new Map<string, Job>();
  private readonly channel: BroadcastChannel | null;

  constructor(options: ModelStoreOptions = {}) {
    const prefix = options.dbPrefix ?? "trit";
    // idb-keyval keeps one object store per database: records and chunks live apart,
    // so listing models never loads chunk bytes.
    this.records = options.stores?.records ?? createStore(`${prefix}-models`, "records");
    this.chunks = options.stores?.chunks ?? createStore(`${prefix}-model-chunks`, "chunks");
    this.chunkSize = options.chunkSize ?? 32 * MiB;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize <= 0) {
      throw new StoreError(
        "bad-input",
        `The chunk size must be a positive integer, not ${this.chunkSize}.`,
      );
    }
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const nav = (globalThis as { navigator?: { storage?: StorageLike } }).navigator;
    this.storage = options.storage === undefined ? (nav?.storage ?? null) : options.storage;
    this.locks = options.locks === undefined ? defaultLocks() : options.locks;
    this.validator = options.validator ?? bitnetStartCheck;
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.watchIntervalMs = options.watchIntervalMs ?? 1000;
    this.progressIntervalMs = options.progressIntervalMs ?? 250;
    this.now = options.now ?? (() => Date.now());
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
        if (typeof id === "string") this.jobs.get(id)?.controller.abort("pause");
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
    const recs = (await values<ModelRecord>(this.records)).sort(
      (a, b) => a.createdAt - b.createdAt,
    );
    const held = await this.heldLocks();
    return recs.map((rec) => {
      const busy = this.jobs.has(rec.id) || held?.has(modelLockName(rec.id));
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
  async record(id: string): Promise<ModelRecord | undefined> {
    return get<ModelRecord>(id, this.records);
  }

  /** Used and available bytes for this site, and whether storage is persistent. */
  async estimate(): Promise<{ usedBytes: number; quotaBytes: number; persisted: boolean }> {
    const est = (await this.storage?.estimate()) ?? {};
    const persisted = (await this.storage?.persisted?.().catch(() => false)) ?? false;
    return { usedBytes: est.usage ?? 0, quotaBytes: est.quota ?? 0, persisted };
  }

  // ---- Adding models --------------------------------------------------------------

  /**
   * Downloads a model by URL: one GGUF, a split set given by any one of its shard URLs
   * (…-00001-of-0000N.gguf), or shard URLs in order. A model already stored is returned
   * as it is; a partial one resumes. Resolves when the download ends: "ready", or
   * "paused"/"failed" with the reason in `note`/`error`. Refusals before anything is
   * stored (bad URL, HTTP error, not enough storage) reject with a StoreError in words.
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

    // Sizes first (HEAD), so that a model that cannot fit is refused before any byte.
    const heads = await Promise.all(shardUrls.map((url) => this.head(url)));
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
      shards: shardUrls.map((url, i) => ({
        ...emptyShard(url),
        size: heads[i].size,
        sha256: normaliseSha(options.sha256?.[i]) ?? heads[i].sha256,
      })),
    };
    rec.totalBytes = totalOf(rec);
    await this.ensureFits(rec);
    if ((await this.record(id)) === undefined) await set(id, rec, this.records);
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
      await this.ensureFits(rec);
      await set(id, rec, this.records);
    }
    return this.start(id, onProgress, files);
  }

  /**
   * Continues a paused, interrupted or failed download. When another tab is writing the
   * model, reports that tab's progress until it lets go, then continues if needed.
   */
  async resume(id: string, onProgress?: ProgressListener): Promise<ModelInfo> {
    const rec = await this.mustRecord(id);
    if (rec.state === "ready" && !this.jobs.has(id)) return view(rec);
    if (rec.source === "file" && !this.jobs.has(id)) {
      throw new StoreError(
        "needs-file",
        `"${rec.name}" was imported from a local file: pick the file again to continue.`,
      );
    }
    return this.start(id, onProgress, null);
  }

  /** Stops the download of a model, in this tab or another one, keeping every stored chunk. */
  async pause(id: string): Promise<void> {
    const job = this.jobs.get(id);
    if (!job) {
      this.channel?.postMessage({ pause: id });
      return;
    }
    job.controller.abort("pause");
    await job.promise.catch(() => undefined);
  }

  /** Stops a download and removes everything stored for it. */
  async cancel(id: string): Promise<void> {
    await this.delete(id);
  }

  /** Removes a model and every chunk of it. Refused while another tab writes it. */
  async delete(id: string): Promise<void> {
    const job = this.jobs.get(id);
    if (job) {
      job.controller.abort("cancel");
      await job.promise.catch(() => undefined);
    }
    const done = await this.withLock(id, true, async () => {
      await this.deleteChunks(id);
      await del(id, this.records);
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
   * Re-checks a stored model: sizes, every chunk against the hash recorded when it was
   * stored, and the published checksum when there is one. Marks it ready or failed.
   */
  async verify(id: string, onProgress?: ProgressListener): Promise<ModelInfo> {
    if (this.jobs.has(id)) {
      throw new StoreError(
        "busy",
        "This model is downloading: it is checked when the download ends.",
      );
    }
    const result = await this.withLock(id, true, async () => {
      const rec = await this.mustRecord(id);
      const job: Job = {
        rec,
        controller: new AbortController(),
        listeners: new Set(onProgress ? [onProgress] : []),
        meter: new RateMeter(this.now),
        files: null,
        lastEmit: Number.NEGATIVE_INFINITY,
        receiving: null,
        promise: Promise.resolve(view(rec)),
      };
      await this.verifyRecord(job);
      return view(rec);
    });
    if (result === null)
      throw new StoreError("busy", "Another tab is writing this model right now.");
    return result;
  }

  // ---- Reading a stored model -------------------------------------------------------

  /**
   * The stored bytes of a ready model, one chunk at a time, shards in order. Only one
   * chunk is in memory at a time, so a loader can copy each into wasm memory and drop it.
   */
  async *readChunks(id: string, shard?: number): AsyncGenerator<StoredChunk> {
    const rec = await this.mustRecord(id);
    if (rec.state !== "ready") {
      throw new StoreError("bad-input", `"${rec.name}" is not ready to load (it is ${rec.state}).`);
    }
    const shards = shard === undefined ? rec.shards.map((_, i) => i) : [shard];
    for (const s of shards) {
      const info = rec.shards[s];
      if (!info) throw new StoreError("bad-input", `"${rec.name}" has no shard ${s}.`);
      for (let i = 0; i < info.chunks; i++) {
        const bytes = await this.readChunk(id, s, i);
        if (!bytes) {
          throw new StoreError(
            "damaged",
            `Chunk ${i + 1} of "${rec.name}" is missing from storage (was the model deleted in another tab?).`,
          );
        }
        yield { shard: s, offset: i * rec.chunkSize, bytes };
      }
    }
  }

  /**
   * One shard of a ready model as a Blob joined from the stored chunk Blobs: in a
   * browser it stays on disk, so the GGUF reader (readGgufHeader, readTensorBytes) can
   * slice it without a second copy of the model in memory.
   */
  async openBlob(id: string, shard = 0): Promise<Blob> {
    const rec = await this.mustRecord(id);
    if (rec.state !== "ready") {
      throw new StoreError("bad-input", `"${rec.name}" is not ready to load (it is ${rec.state}).`);
    }
    const info = rec.shards[shard];
    if (!info) throw new StoreError("bad-input", `"${rec.name}" has no shard ${shard}.`);
    const keys = Array.from({ length: info.chunks }, (_, i) => chunkKey(id, shard, i));
    const parts = await getMany<Blob | Uint8Array<ArrayBuffer> | undefined>(keys, this.chunks);
    const missing = parts.indexOf(undefined);
    if (missing >= 0) {
      throw new StoreError(
        "damaged",
        `Chunk ${missing + 1} of "${rec.name}" is missing from storage (was the model deleted in another tab?).`,
      );
    }
    const blob = new Blob(parts as (Blob | Uint8Array<ArrayBuffer>)[]);
    if (blob.size !== info.size) {
      throw new StoreError(
        "damaged",
        `"${rec.name}" holds ${formatBytes(blob.size)} in storage instead of ${formatBytes(info.size ?? 0)}.`,
      );
    }
    return blob;
  }

  // ---- The download -----------------------------------------------------------------

  private start(id: string, onProgress: ProgressListener | undefined, files: File[] | null) {
    const running = this.jobs.get(id);
    if (running) {
      if (onProgress) running.listeners.add(onProgress);
      return running.promise;
    }
    const job: Job = {
      rec: undefined as unknown as ModelRecord, // run() sets it under the lock
      controller: new AbortController(),
      listeners: new Set(onProgress ? [onProgress] : []),
      meter: new RateMeter(this.now),
      files,
      lastEmit: Number.NEGATIVE_INFINITY,
      receiving: null,
      promise: Promise.resolve(null as unknown as ModelInfo),
    };
    this.jobs.set(id, job);
    job.promise = this.runLocked(id, job).finally(() => {
      if (this.jobs.get(id) === job) this.jobs.delete(id);
    });
    return job.promise;
  }

  /** Takes the model's lock; when another tab holds it, watches that tab's progress and waits. */
  private async runLocked(id: string, job: Job): Promise<ModelInfo> {
    const first = await this.withLock(id, true, () => this.run(id, job));
    if (first !== null) return first;

    const watch = async () => {
      const rec = await this.record(id);
      if (!rec) return;
      const progress: DownloadProgress = {
        modelId: id,
        bytes: rec.storedBytes,
        total: rec.totalBytes,
        rate: 0,
        etaSeconds: null,
        state: rec.state,
        note: "Another tab is downloading this model; this tab waits for it.",
      };
      notify(job.listeners, progress);
    };
    await watch();
    const timer = setInterval(() => void watch(), this.watchIntervalMs);
    try {
      const result = await this.withLock(
        id,
        false,
        async () => {
          clearInterval(timer);
          return this.run(id, job);
        },
        job.controller.signal,
      );
      return result as ModelInfo;
    } catch (e) {
      if (!job.controller.signal.aborted) throw e;
      // Paused or cancelled while waiting: this tab wrote nothing.
      if (job.controller.signal.reason === "cancel") throw cancelled();
      return view(await this.mustRecord(id));
    } finally {
      clearInterval(timer);
    }
  }

  /** The download itself, run while holding the model's lock. */
  private async run(id: string, job: Job): Promise<ModelInfo> {
    const rec = await this.mustRecord(id);
    if (rec.state === "ready") return view(rec);
    job.rec = rec;
    const signal = job.controller.signal;
    try {
      rec.state = "downloading";
      rec.error = undefined;
      rec.note = undefined;
      await this.save(rec);
      this.emit(job, true);
      await this.ensureFits(rec);
      await this.storage?.persist?.().catch(() => false);
      for (let s = 0; s < rec.shards.length; s++) {
        if (!rec.shards[s].complete) await this.downloadShard(job, s);
      }
      await this.verifyRecord(job);
    } catch (e) {
      // delete() removes the data once this job has let go of the lock.
      if (signal.aborted && signal.reason === "cancel") throw cancelled();
      if (signal.aborted) {
        rec.state = "paused";
        rec.note = `Paused with ${formatBytes(rec.storedBytes)} stored.`;
      } else if (e instanceof Dropped || (e instanceof StoreError && e.code === "quota")) {
        rec.state = "paused";
        rec.note = e.message;
      } else if (isQuotaError(e)) {
        rec.state = "paused";
        rec.note = this.quotaWords(rec);
      } else {
        rec.state = "failed";
        rec.error = errorText(e);
        if (e instanceof StoreError && e.code === "invalid") {
          // A wrong file: its bytes are of no use to anyone.
          await this.deleteChunks(id);
          rec.shards = rec.shards.map((s) => ({
            ...emptyShard(s.source),
            size: s.size,
            sha256: s.sha256,
          }));
          rec.storedBytes = 0;
        }
      }
      await this.save(rec);
      this.emit(job, true, rec.note ?? rec.error);
    }
    return view(rec);
  }

  private async downloadShard(job: Job, s: number): Promise<void> {
    const shard = job.rec.shards[s];
    let failures = 0;
    let restarts = 0;
    while (!shard.complete) {
      const before = shard.storedBytes;
      try {
        const body = job.files ? this.openFile(job, s) : await this.openUrl(job, s);
        if (body === "restart") {
          if (++restarts > 3) {
            throw new StoreError(
              "changed",
              `${shardLabel(job.rec, s)} keeps changing on the server; try again later.`,
            );
          }
          continue;
        }
        if (body === "complete") continue;
        await this.consume(job, s, body);
      } catch (e) {
        if (!(e instanceof Dropped) || job.controller.signal.aborted) throw e;
        if (shard.storedBytes > before) failures = 0;
        if (++failures > this.retries) throw e;
        const wait = this.retryDelayMs * 2 ** (failures - 1);
        this.emit(job, true, `${e.message} Retrying in ${Math.round(wait / 1000)} s.`);
        await sleep(wait, job.controller.signal);
      }
    }
  }

  private openFile(job: Job, s: number): ReadableStream<Uint8Array> {
    const file = job.files?.[s];
    const shard = job.rec.shards[s];
    if (!file || file.size !== shard.size) {
      throw new StoreError("needs-file", `Pick "${shard.source}" again to continue importing it.`);
    }
    return file.slice(shard.storedBytes).stream() as ReadableStream<Uint8Array>;
  }

  /** Requests the rest of a shard; handles servers that ignore Range and files that changed. */
  private async openUrl(
    job: Job,
    s: number,
  ): Promise<ReadableStream<Uint8Array> | "restart" | "complete"> {
    const rec = job.rec;
    const shard = rec.shards[s];
    const start = shard.storedBytes;
    let res: Response;
    try {
      res = await this.fetch(shard.source, {
        headers: { Range: `bytes=${start}-` },
        signal: job.controller.signal,
        cache: "no-store",
      });
    } catch (e) {
      if (job.controller.signal.aborted) throw e;
      throw new Dropped(
        `Could not reach ${describeUrl(shard.source)} (${errorText(e)}: offline, or the server does not allow downloads from other sites); ${formatBytes(rec.storedBytes)} stored are kept.`,
      );
    }
    const etag = res.headers.get("etag");
    const lastModified = res.headers.get("last-modified");
    if (res.status === 416) {
      await res.body?.cancel();
      const total = parseContentRange(res.headers.get("content-range"))?.total ?? null;
      if (total !== null && total === start && (shard.size === null || shard.size === start)) {
        await this.finishShard(job, s, start);
        return "complete";
      }
      await this.restartShard(
        job,
        s,
        `${shardLabel(rec, s)} changed on the server (it is now shorter): downloading it again.`,
      );
      return "restart";
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new StoreError("http", httpErrorMessage(res.status, shard.source));
    }
    if (!res.body) throw new Dropped(`The server sent no data for ${shardLabel(rec, s)}.`);

    let total: number | null;
    const length = numberHeader(res.headers.get("content-length"));
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get("content-range"));
      if (range && range.start !== start) {
        await res.body.cancel();
        throw new StoreError(
          "size",
          `The server sent ${shardLabel(rec, s)} from byte ${range.start} when asked from byte ${start}.`,
        );
      }
      total = range?.total ?? (length !== null ? start + length : null);
      const changed =
        start > 0 &&
        ((shard.etag !== null && etag !== null && shard.etag !== etag) ||
          (shard.etag === null &&
            shard.lastModified !== null &&
            lastModified !== null &&
            shard.lastModified !== lastModified) ||
          (shard.size !== null && total !== null && shard.size !== total));
      if (changed) {
        await res.body.cancel();
        await this.restartShard(
          job,
          s,
          `${shardLabel(rec, s)} changed on the server since the download began: downloading it again.`,
        );
        return "restart";
      }
    } else {
      total = length;
      if (start > 0) {
        // The body starts at byte 0 whatever we asked: use it from there.
        await this.restartShard(
          job,
          s,
          "The server does not support resuming (it ignored the Range request): this file starts again from the beginning.",
        );
      } else if (res.headers.get("accept-ranges") !== "bytes") {
        rec.note =
          "The server does not support resuming: an interrupted download of this file will start again from the beginning.";
        this.emit(job, true, rec.note);
      }
    }
    shard.etag = etag;
    shard.lastModified = lastModified;
    shard.sha256 ??= publishedSha256(res.headers);
    if (total !== null && shard.size !== total) {
      shard.size = total;
      rec.totalBytes = totalOf(rec);
      await this.ensureFits(rec);
    }
    await this.save(rec);
    return res.body;
  }

  /**
   * Reads a shard's bytes into fixed-size chunks and stores each one as it fills. One
   * chunk write runs while the next chunk is read, so the network and IndexedDB overlap
   * and a dropped connection loses little that had already arrived.
   */
  private async consume(job: Job, s: number, body: ReadableStream<Uint8Array>): Promise<void> {
    const rec = job.rec;
    const shard = rec.shards[s];
    const validator = shard.checked ? null : await this.replayValidator(job, s);
    let checking = validator !== null && !shard.checked;
    let buf = new Uint8Array(rec.chunkSize);
    let spare: Uint8Array | null = null;
    let fill = 0;
    /** Shard offset of the next byte to arrive. */
    let offset = shard.storedBytes;
    let writing: Promise<void> = Promise.resolve();
    let dropped: unknown = null;
    job.receiving = { shard: s, offset };
    const reader = body.getReader();
    try {
      for (;;) {
        let piece: ReadableStreamReadResult<Uint8Array>;
        try {
          piece = await readOrAbort(reader, job.controller.signal);
        } catch (e) {
          if (job.controller.signal.aborted) throw e;
          dropped = e;
          break;
        }
        if (piece.done) break;
        const value = piece.value;
        if (checking && validator) {
          checking = !this.check(job, s, validator, value);
          if (!checking) await this.save(rec);
        }
        offset += value.length;
        if (shard.size !== null && offset > shard.size) {
          throw new StoreError(
            "size",
            `The server sent more bytes than the ${formatBytes(shard.size)} it announced for ${shardLabel(rec, s)}.`,
          );
        }
        for (let p = 0; p < value.length; ) {
          const n = Math.min(value.length - p, buf.length - fill);
          buf.set(value.subarray(p, p + n), fill);
          fill += n;
          p += n;
          if (fill === buf.length) {
            await writing; // at most one chunk write in flight
            const full = buf;
            buf = spare ?? new Uint8Array(rec.chunkSize);
            spare = null;
            fill = 0;
            writing = this.storeChunk(job, s, full).then(() => {
              spare = full;
            });
            writing.catch(() => undefined); // awaited below; this only marks it handled
          }
        }
        job.receiving = { shard: s, offset };
        this.emit(job, false);
      }
    } finally {
      // Frees the connection when we stop early; a no-op once the body has ended.
      reader.cancel().catch(() => undefined);
      await writing.finally(() => {
        job.receiving = null;
      });
    }
    if (dropped !== null) {
      throw new Dropped(
        `The connection dropped (${errorText(dropped)}); ${formatBytes(rec.storedBytes)} stored are kept.`,
      );
    }
    if (shard.size !== null && offset < shard.size) {
      throw new Dropped(
        `The connection closed early, at ${formatBytes(offset)} of ${formatBytes(shard.size)}; ${formatBytes(rec.storedBytes)} stored are kept.`,
      );
    }
    if (checking) {
      throw new StoreError(
        "invalid",
        `${shardLabel(rec, s)} is not a usable model file: it ended after ${offset} bytes, before its header did.`,
      );
    }
    if (fill > 0) await this.storeChunk(job, s, buf.slice(0, fill));
    await this.finishShard(job, s, offset);
  }

  /** Feeds bytes to the validator; true once it is satisfied. Its errors become "invalid". */
  private check(job: Job, s: number, validator: StartValidator, bytes: Uint8Array): boolean {
    let result: unknown;
    try {
      result = validator.push(bytes);
    } catch (e) {
      throw new StoreError(
        "invalid",
        `${shardLabel(job.rec, s)} was refused: ${errorText(e)}.`.replace(/\.\.$/, "."),
      );
    }
    if (result === null || result === undefined) return false;
    job.rec.shards[s].checked = true;
    return true;
  }

  /** A fresh validator that has already seen the chunks stored before this request. */
  private async replayValidator(job: Job, s: number): Promise<StartValidator> {
    const shard = job.rec.shards[s];
    const validator = this.validator({ index: s, count: job.rec.shards.length, size: shard.size });
    for (let i = 0; i < shard.chunks && !shard.checked; i++) {
      const bytes = await this.readChunk(job.rec.id, s, i);
      if (!bytes) break;
      this.check(job, s, validator, bytes);
    }
    return validator;
  }

  private async storeChunk(job: Job, s: number, bytes: Uint8Array): Promise<void> {
    const rec = job.rec;
    const shard = rec.shards[s];
    const hash = await sha256Hex(bytes);
    try {
      // The chunk first, then the record that counts it: a crash in between leaves an
      // uncounted chunk that the next run overwrites.
      // As a Blob: browsers keep Blob values of IndexedDB on disk, and openBlob() can
      // then join them into one file-backed Blob without reading them into memory.
      await set(
        chunkKey(rec.id, s, shard.chunks),
        new Blob([bytes as Uint8Array<ArrayBuffer>]),
        this.chunks,
      );
    } catch (e) {
      if (isQuotaError(e)) throw new StoreError("quota", this.quotaWords(rec));
      throw e;
    }
    const resumable =
      rec.chunkSize % 64 === 0 && (shard.chunks === 0 || shard.runningSha256 !== null);
    if (shard.sha256 !== null && resumable) {
      const running = shard.runningSha256 ? Sha256.resume(shard.runningSha256) : new Sha256();
      running.update(bytes);
      // Only the shard's last chunk can end off a 64-byte block: then the hash is done.
      if (bytes.length % 64 === 0) shard.runningSha256 = running.save();
      else {
        shard.runningSha256 = null;
        shard.streamedSha256 = running.digestHex();
      }
    }
    shard.chunks += 1;
    shard.hashes.push(hash);
    shard.storedBytes += bytes.length;
    rec.storedBytes += bytes.length;
    await this.save(rec);
    this.emit(job, true);
  }

  private async finishShard(job: Job, s: number, size: number): Promise<void> {
    const shard = job.rec.shards[s];
    shard.size = size;
    shard.complete = true;
    if (shard.runningSha256?.length === size) {
      shard.streamedSha256 = Sha256.resume(shard.runningSha256).digestHex();
      shard.runningSha256 = null;
    }
    job.rec.totalBytes = totalOf(job.rec);
    await this.save(job.rec);
  }

  /** Drops what is stored of a shard so that it downloads again from byte 0. */
  private async restartShard(job: Job, s: number, note: string): Promise<void> {
    const rec = job.rec;
    const old = rec.shards[s];
    await this.deleteChunks(rec.id, s);
    rec.storedBytes -= old.storedBytes;
    // In place: the download loop holds this object.
    Object.assign(old, { ...emptyShard(old.source), sha256: old.sha256 });
    rec.totalBytes = totalOf(rec);
    rec.note = note;
    job.meter.reset();
    await this.save(rec);
    this.emit(job, true, note);
  }

  // ---- Checking ---------------------------------------------------------------------

  private async verifyRecord(job: Job): Promise<void> {
    const rec = job.rec;
    rec.state = "verifying";
    await this.save(rec);
    this.emit(job, true);
    const problem = await this.findProblem(job);
    if (problem === null) {
      rec.state = "ready";
      rec.error = undefined;
    } else {
      rec.state = "failed";
      rec.error = problem;
    }
    await this.save(rec);
    this.emit(job, true, rec.error);
  }

  /** What is wrong with the stored model, in words, or null. Truncates damaged shards so resume re-fetches them. */
  private async findProblem(job: Job): Promise<string | null> {
    const rec = job.rec;
    for (let s = 0; s < rec.shards.length; s++) {
      const shard = rec.shards[s];
      const what = shardLabel(rec, s);
      if (!shard.complete || shard.size === null || shard.storedBytes !== shard.size) {
        return `${what} is incomplete: ${formatBytes(shard.storedBytes)} of ${shard.size === null ? "an unknown size" : formatBytes(shard.size)} stored.`;
      }
      const expected = Math.ceil(shard.size / rec.chunkSize);
      if (shard.chunks !== expected || shard.hashes.length !== expected) {
        await this.truncateShard(job, s, 0);
        return `${what} was stored with ${shard.chunks} chunks instead of ${expected}; resume to download it again.`;
      }
      // The published checksum: from the hash run during the download, else a second pass.
      const whole = shard.sha256 && !shard.streamedSha256 ? new Sha256() : null;
      for (let i = 0; i < shard.chunks; i++) {
        const bytes = await this.readChunk(rec.id, s, i);
        const length = i < expected - 1 ? rec.chunkSize : shard.size - i * rec.chunkSize;
        if (!bytes || bytes.length !== length || (await sha256Hex(bytes)) !== shard.hashes[i]) {
          await this.truncateShard(job, s, i);
          return `${what}: chunk ${i + 1} of ${expected} is ${bytes ? "damaged" : "missing"} in storage; resume to download the rest again.`;
        }
        whole?.update(bytes);
      }
      const streamed = whole ? whole.digestHex() : shard.streamedSha256;
      if (shard.sha256 && streamed !== shard.sha256) {
        await this.truncateShard(job, s, 0);
        return `${what} does not match its published SHA-256 checksum; resume to download it again.`;
      }
    }
    return null;
  }

  private async truncateShard(job: Job, s: number, keep: number): Promise<void> {
    const rec = job.rec;
    const shard = rec.shards[s];
    await this.deleteChunks(rec.id, s, keep);
    const kept = keep * rec.chunkSize;
    rec.storedBytes -= shard.storedBytes - kept;
    shard.chunks = keep;
    shard.hashes = shard.hashes.slice(0, keep);
    shard.storedBytes = kept;
    shard.complete = false;
    shard.runningSha256 = null;
    shard.streamedSha256 = null;
    if (keep === 0) shard.checked = false;
  }

  // ---- Helpers ----------------------------------------------------------------------

  private emit(job: Job, force: boolean, note?: string): void {
    const t = this.now();
    if (!force && t - job.lastEmit < this.progressIntervalMs) return;
    job.lastEmit = t;
    const rec = job.rec;
    // Bytes arrived but not yet stored count too, so progress moves between chunk writes.
    const inFlight = job.receiving
      ? job.receiving.offset - rec.shards[job.receiving.shard].storedBytes
      : 0;
    const bytes = rec.storedBytes + inFlight;
    job.meter.sample(bytes);
    const progress: DownloadProgress = {
      modelId: rec.id,
      bytes,
      total: rec.totalBytes,
      rate: job.meter.rate(),
      etaSeconds: job.meter.etaSeconds(bytes, rec.totalBytes),
      state: rec.state,
      ...(note ? { note } : {}),
    };
    notify(job.listeners, progress);
  }

  /** Refuses in words when the rest of the model will not fit in this site's quota. */
  private async ensureFits(rec: ModelRecord): Promise<void> {
    if (!this.storage) return;
    const need = rec.shards.reduce(
      (sum, s) => sum + (s.size === null ? 0 : s.size - s.storedBytes),
      0,
    );
    if (need <= 0) return;
    const { usage, quota } = await this.storage.estimate();
    if (quota === undefined || usage === undefined) return;
    const free = Math.max(0, quota - usage);
    if (need > free) {
      throw new StoreError(
        "quota",
        `Not enough storage: "${rec.name}" needs ${formatBytes(need)} more, but only ${formatBytes(free)} is free for this site. Delete other models or free disk space, then try again.`,
      );
    }
  }

  private quotaWords(rec: ModelRecord): string {
    return `Not enough storage: the browser refused to store more of "${rec.name}". The ${formatBytes(rec.storedBytes)} stored so far are kept; free space, then resume.`;
  }

  private async head(url: string): Promise<{ size: number | null; sha256: string | null }> {
    let res: Response;
    try {
      res = await this.fetch(url, { method: "HEAD", cache: "no-store" });
    } catch {
      // Some servers and CORS setups refuse HEAD; the first GET tells the size instead.
      return { size: null, sha256: null };
    }
    if ([401, 403, 404, 410].includes(res.status)) {
      throw new StoreError("http", httpErrorMessage(res.status, url));
    }
    if (!res.ok) return { size: null, sha256: null };
    return {
      size: numberHeader(res.headers.get("content-length")),
      sha256: publishedSha256(res.headers),
    };
  }

  private async withLock<T>(
    id: string,
    ifAvailable: boolean,
    fn: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T | null> {
    if (!this.locks) return fn();
    const options = ifAvailable ? { ifAvailable: true } : signal ? { signal } : {};
    return this.locks.request(modelLockName(id), options, async (lock) => (lock ? fn() : null));
  }

  /** Names of locks held anywhere, or undefined when that cannot be known. */
  private async heldLocks(): Promise<Set<string> | undefined> {
    if (!this.locks) return new Set();
    if (!this.locks.query) return undefined;
    const snapshot = await this.locks.query().catch(() => undefined);
    if (!snapshot) return undefined;
    return new Set((snapshot.held ?? []).map((l) => l.name ?? ""));
  }

  private async deleteChunks(id: string, shard?: number, fromChunk = 0): Promise<void> {
    const lower = shard === undefined ? [id] : [id, shard, fromChunk];
    const upper = shard === undefined ? [id, []] : [id, shard, []];
    await this.chunks("readwrite", (store) => {
      store.delete(IDBKeyRange.bound(lower, upper));
      return promisifyRequest(store.transaction);
    });
  }

  /** A stored chunk's bytes (Blob values, or Uint8Array ones), or undefined. */
  private async readChunk(
    id: string,
    shard: number,
    index: number,
  ): Promise<Uint8Array | undefined> {
    const value = await get<Blob | Uint8Array>(chunkKey(id, shard, index), this.chunks);
    if (value === undefined || value instanceof Uint8Array) return value;
    return new Uint8Array(await value.arrayBuffer());
  }

  private save(rec: ModelRecord): Promise<void> {
    return set(rec.id, rec, this.records);
  }

  private async mustRecord(id: string): Promise<ModelRecord> {
    const rec = await this.record(id);
    if (!rec) throw new StoreError("unknown-model", `No stored model has the id "${id}".`);
    return rec;
  }
}

/** A listener that throws must not stop the download. */
function notify(listeners: Set<ProgressListener>, progress: DownloadProgress): void {
  for (const listener of listeners) {
    try {
      listener(progress);
    } catch (e) {
      console.warn("A download progress listener failed:", e);
    }
  }
}

function chunkKey(id: string, shard: number, index: number): ChunkKey {
  return [id, shard, index];
}

function emptyShard(source: string): ShardRecord {
  return {
    source,
    size: null,
    etag: null,
    lastModified: null,
    chunks: 0,
    hashes: [],
    storedBytes: 0,
    checked: false,
    sha256: null,
    runningSha256: null,
    streamedSha256: null,
    complete: false,
  };
}

function view(rec: ModelRecord): ModelInfo {
  return {
    id: rec.id,
    name: rec.name,
    urls: [...rec.urls],
    totalBytes: rec.totalBytes,
    storedBytes: rec.storedBytes,
    state: rec.state,
    ...(rec.error ? { error: rec.error } : {}),
    ...(rec.note ? { note: rec.note } : {}),
  };
}

function totalOf(rec: ModelRecord): number | null {
  let total = 0;
  for (const s of rec.shards) {
    if (s.size === null) return null;
    total += s.size;
  }
  return total;
}

function shardLabel(rec: ModelRecord, s: number): string {
  return rec.shards.length === 1
    ? `"${rec.name}"`
    : `Part ${s + 1} of ${rec.shards.length} of "${rec.name}"`;
}

function cancelled(): Error {
  const e = new Error("The download was cancelled and its data removed.");
  e.name = "AbortError";
  return e;
}

function numberHeader(value: string | null): number | null {
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

function normaliseSha(value: string | null | undefined): string | null {
  const v = value?.trim().toLowerCase();
  return v && /^[0-9a-f]{64}$/.test(v) ? v : null;
}

/**
 * A SHA-256 of the whole file that the server publishes: Hugging Face's
 * X-Linked-Etag / ETag of LFS files (64 hex digits), or an RFC 9530 Repr-Digest.
 */
function publishedSha256(headers: Headers): string | null {
  for (const name of ["x-linked-etag", "etag"]) {
    const raw = headers.get(name)?.replace(/^W\//, "").replace(/"/g, "");
    const sha = normaliseSha(raw);
    if (sha) return sha;
  }
  const digest = headers.get("repr-digest") ?? headers.get("digest");
  const m = digest ? /sha-256=:?([A-Za-z0-9+/=]+):?/i.exec(digest) : null;
  if (m) {
    try {
      const raw = atob(m[1]);
      if (raw.length === 32) {
        return [...raw].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
      }
    } catch {
      // Not base64: no published checksum.
    }
  }
  return null;
}

/**
 * reader.read(), but rejecting as soon as `signal` aborts: a fetch body does not
 * always fail its pending read when its request is aborted.
 */
function readOrAbort<T>(
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
