import type { ChunkDb } from "./chunk-db.ts";
import { errorText, formatBytes, isQuotaError, StoreError } from "./errors.ts";
import { findProblem } from "./integrity.ts";
import { type LockManagerLike, modelLockName } from "./locks.ts";
import type { DownloadProgress } from "./model-types.ts";
import { Dropped, type RangeFetcher } from "./range-fetcher.ts";
import { RateMeter } from "./rate-meter.ts";
import {
  type ModelInfo,
  type ModelRecord,
  notify,
  type ProgressListener,
  resetShard,
  shardLabel,
  view,
} from "./records.ts";
import { downloadShard } from "./shard-download.ts";
import type { ValidatorFactory } from "./start-check.ts";

/** The part of navigator.storage the store uses. */
export interface StorageLike {
  estimate(): Promise<{ usage?: number; quota?: number }>;
  persist?(): Promise<boolean>;
  persisted?(): Promise<boolean>;
}

export interface JobSettings {
  db: ChunkDb;
  fetcher: RangeFetcher;
  fetch: typeof globalThis.fetch;
  storage: StorageLike | null;
  locks: LockManagerLike | null;
  validator: ValidatorFactory;
  pieceSize: number;
  retries: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  watchIntervalMs: number;
  progressIntervalMs: number;
  /** Fires "online" when the browser's network comes back (self in a worker); null for none. */
  online: EventTarget | null;
  now: () => number;
}

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

/**
 * Runs downloads: one job per model in this tab, one writing tab per model across tabs
 * (Web Locks; a tab that asks for a model another tab writes watches and waits), pause
 * and cancel, automatic retries with backoff, and a resume when the browser is back online.
 */
export class DownloadJobs {
  private readonly jobs = new Map<string, Job>();
  /** Listeners of downloads paused by the network, for the resume that "online" starts. */
  private readonly waiting = new Map<string, Set<ProgressListener>>();

  constructor(private readonly s: JobSettings) {
    s.online?.addEventListener("online", () => void this.resumeAfterOutage());
  }

  isRunning(id: string): boolean {
    return this.jobs.has(id);
  }

  start(id: string, onProgress: ProgressListener | undefined, files: File[] | null) {
    const running = this.jobs.get(id);
    if (running) {
      if (onProgress) running.listeners.add(onProgress);
      return running.promise;
    }
    const listeners = this.waiting.get(id) ?? new Set<ProgressListener>();
    this.waiting.delete(id);
    if (onProgress) listeners.add(onProgress);
    const job: Job = {
      rec: undefined as unknown as ModelRecord, // run() sets it under the lock
      controller: new AbortController(),
      listeners,
      meter: new RateMeter(this.s.now),
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

  /** Stops a job of this tab ("pause" keeps what arrived; "cancel" is for delete) and waits for it. */
  async stop(id: string, reason: "pause" | "cancel"): Promise<boolean> {
    const job = this.jobs.get(id);
    if (reason === "cancel") this.waiting.delete(id);
    if (!job) return false;
    job.controller.abort(reason);
    await job.promise.catch(() => undefined);
    return true;
  }

  /** Re-checks a stored model under its lock; null when another tab holds it. */
  async verify(id: string, onProgress?: ProgressListener): Promise<ModelInfo | null> {
    return this.withLock(id, true, async () => {
      const job = this.newJob(onProgress);
      job.rec = await this.mustRecord(id);
      await this.verifyRecord(job);
      return view(job.rec);
    });
  }

  async withLock<T>(
    id: string,
    ifAvailable: boolean,
    fn: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T | null> {
    if (!this.s.locks) return fn();
    const options = ifAvailable ? { ifAvailable: true } : signal ? { signal } : {};
    return this.s.locks.request(modelLockName(id), options, async (lock) => (lock ? fn() : null));
  }

  /** Names of locks held anywhere, or undefined when that cannot be known. */
  async heldLocks(): Promise<Set<string> | undefined> {
    if (!this.s.locks) return new Set();
    if (!this.s.locks.query) return undefined;
    const snapshot = await this.s.locks.query().catch(() => undefined);
    if (!snapshot) return undefined;
    return new Set((snapshot.held ?? []).map((l) => l.name ?? ""));
  }

  async mustRecord(id: string): Promise<ModelRecord> {
    const rec = await this.s.db.getRecord(id);
    if (!rec) throw new StoreError("unknown-model", `No stored model has the id "${id}".`);
    return rec;
  }

  /** The browser is back online: continue the downloads the network stopped. */
  private async resumeAfterOutage(): Promise<void> {
    const recs = await this.s.db.listRecords().catch(() => []);
    for (const rec of recs) {
      if (rec.state === "paused" && rec.pauseReason === "network" && !this.jobs.has(rec.id)) {
        void this.start(rec.id, undefined, null).catch(() => undefined);
      }
    }
  }

  private newJob(onProgress?: ProgressListener): Job {
    return {
      rec: undefined as unknown as ModelRecord,
      controller: new AbortController(),
      listeners: new Set(onProgress ? [onProgress] : []),
      meter: new RateMeter(this.s.now),
      files: null,
      lastEmit: Number.NEGATIVE_INFINITY,
      receiving: null,
      promise: Promise.resolve(null as unknown as ModelInfo),
    };
  }

  /** Takes the model's lock; when another tab holds it, watches that tab's progress and waits. */
  private async runLocked(id: string, job: Job): Promise<ModelInfo> {
    const first = await this.withLock(id, true, () => this.run(id, job));
    if (first !== null) return first;

    const watch = async () => {
      const rec = await this.s.db.getRecord(id);
      if (!rec) return;
      notify(job.listeners, {
        modelId: id,
        bytes: rec.storedBytes,
        total: rec.totalBytes,
        rate: 0,
        etaSeconds: null,
        state: rec.state,
        note: "Another tab is downloading this model; this tab waits for it.",
      });
    };
    await watch();
    const timer = setInterval(() => void watch(), this.s.watchIntervalMs);
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
    const { db } = this.s;
    const rec = await this.mustRecord(id);
    if (rec.state === "ready") return view(rec);
    job.rec = rec;
    const signal = job.controller.signal;
    try {
      if (rec.refetch) {
        // Its bytes failed to load: fetch them again from the source.
        await db.deleteFrom(id);
        for (const shard of rec.shards) resetShard(shard);
        rec.storedBytes = 0;
        rec.refetch = undefined;
      }
      rec.state = "downloading";
      rec.error = undefined;
      rec.note = undefined;
      rec.pauseReason = undefined;
      await this.save(rec);
      this.emit(job, true);
      await this.warnIfTight(job);
      await this.s.storage?.persist?.().catch(() => false);
      const shardJob = {
        ...this.s,
        rec,
        files: job.files,
        signal,
        pauseBeforeRetry: (ms: number) => this.pauseBeforeRetry(ms, signal),
        save: () => this.save(rec),
        emit: (force: boolean, note?: string) => this.emit(job, force, note),
        setReceiving: (at: Job["receiving"]) => {
          job.receiving = at;
        },
      };
      for (let round = 0; ; round++) {
        for (let s = 0; s < rec.shards.length; s++) {
          if (!rec.shards[s].complete) await downloadShard(shardJob, s);
        }
        if (job.files || !(await this.changedSince(job))) break;
        if (round >= 2) {
          throw new StoreError(
            "changed",
            `"${rec.name}" keeps changing on the server; try again later.`,
          );
        }
      }
      await this.verifyRecord(job);
    } catch (e) {
      // delete() removes the data once this job has let go of the lock.
      if (signal.aborted && signal.reason === "cancel") throw cancelled();
      if (signal.aborted) {
        rec.state = "paused";
        rec.pauseReason = "user";
        rec.note = `Paused with ${formatBytes(rec.storedBytes)} stored.`;
      } else if (e instanceof Dropped) {
        rec.state = "paused";
        rec.pauseReason = "network";
        rec.note = `${e.message} It continues by itself when the browser is back online, or press Resume.`;
        this.waiting.set(id, job.listeners);
      } else if ((e instanceof StoreError && e.code === "quota") || isQuotaError(e)) {
        rec.state = "paused";
        rec.pauseReason = "storage";
        rec.note = `Not enough storage: the browser refused to store more of "${rec.name}". The ${formatBytes(rec.storedBytes)} stored so far are kept; free space, then resume.`;
      } else {
        rec.state = "failed";
        rec.error = errorText(e);
        if (e instanceof StoreError && (e.code === "invalid" || e.code === "changed")) {
          // A wrong file: its bytes are of no use to anyone.
          await db.deleteFrom(id);
          for (const shard of rec.shards) {
            const size = shard.size;
            resetShard(shard);
            if (e.code === "invalid") shard.size = size;
          }
          rec.storedBytes = 0;
        }
      }
      await this.save(rec);
      this.emit(job, true, rec.note ?? rec.error);
    }
    return view(rec);
  }

  /**
   * Whether a downloaded file changed on the server while it arrived (a new ETag or date
   * on a HEAD after the last byte); if so its shard starts again. Bytes that change under
   * one open connection are caught only this way when no checksum is published.
   */
  private async changedSince(job: Job): Promise<boolean> {
    const rec = job.rec;
    let changed = false;
    for (let s = 0; s < rec.shards.length; s++) {
      const shard = rec.shards[s];
      if (shard.etag === null && shard.lastModified === null) continue;
      const now = await this.s.fetcher.head(shard.source, job.controller.signal).catch(() => null);
      if (!now || (now.etag === null && now.lastModified === null)) continue;
      const differs =
        shard.etag !== null && now.etag !== null
          ? shard.etag !== now.etag
          : shard.lastModified !== null && now.lastModified !== shard.lastModified;
      if (!differs) continue;
      changed = true;
      const note = `${shardLabel(rec, s)} changed on the server while it downloaded: downloading it again.`;
      await this.s.db.deleteFrom(rec.id, s);
      rec.storedBytes -= shard.storedBytes;
      resetShard(shard);
      rec.note = note;
      await this.save(rec);
      this.emit(job, true, note);
    }
    return changed;
  }

  private async verifyRecord(job: Job): Promise<void> {
    const rec = job.rec;
    rec.state = "verifying";
    await this.save(rec);
    this.emit(job, true);
    const problem = await findProblem(this.s.db, this.s.validator, rec);
    rec.state = problem === null ? "ready" : "failed";
    rec.error = problem ?? undefined;
    await this.save(rec);
    this.emit(job, true, rec.error);
  }

  /**
   * Says so when the browser reports less free space than the rest of the model needs, and
   * goes on: estimates are guesses (WebKit grows a site's quota as it stores more), so only
   * the browser's own refusal of a write stops a download.
   */
  private async warnIfTight(job: Job): Promise<void> {
    const rec = job.rec;
    const need = rec.shards.reduce(
      (sum, s) => sum + (s.size === null ? 0 : s.size - s.storedBytes),
      0,
    );
    if (need <= 0 || !this.s.storage) return;
    const est = await this.s.storage
      .estimate()
      .catch(() => ({}) as { usage?: number; quota?: number });
    if (est.quota === undefined || est.usage === undefined) return;
    const free = Math.max(0, est.quota - est.usage);
    if (need <= free) return;
    rec.note = `The browser reports ${formatBytes(free)} free for this site and "${rec.name}" needs ${formatBytes(need)} more: trying anyway (browsers often grow the space as it is used). If the browser refuses, the download pauses with what it stored.`;
    this.emit(job, true, rec.note);
  }

  /** Waits before a retry; the browser coming back online, a pause or a cancel end it early. */
  private pauseBeforeRetry(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.s.online?.removeEventListener("online", done);
        resolve();
      };
      const onAbort = () => {
        clearTimeout(timer);
        this.s.online?.removeEventListener("online", done);
        reject(signal.reason);
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", onAbort, { once: true });
      this.s.online?.addEventListener("online", done, { once: true });
    });
  }

  private emit(job: Job, force: boolean, note?: string): void {
    const t = this.s.now();
    if (!force && t - job.lastEmit < this.s.progressIntervalMs) return;
    job.lastEmit = t;
    const rec = job.rec;
    // Bytes arrived but not yet stored count too, so progress moves between writes.
    const inFlight = job.receiving
      ? Math.max(0, job.receiving.offset - rec.shards[job.receiving.shard].storedBytes)
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
      // The run's standing note (a low estimate, a restart) until something newer.
      ...(note || rec.note ? { note: note ?? rec.note } : {}),
    };
    notify(job.listeners, progress);
  }

  private save(rec: ModelRecord): Promise<void> {
    return this.s.db.saveRecord(rec);
  }
}

function cancelled(): Error {
  const e = new Error("The download was cancelled and its data removed.");
  e.name = "AbortError";
  return e;
}
