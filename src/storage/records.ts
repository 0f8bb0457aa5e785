import type { DownloadProgress, StoredModel } from "./model-types.ts";
import type { Sha256State } from "./sha256.ts";

/** One file of a model (a split GGUF has several), as stored. */
export interface ShardRecord {
  /** URL, or the file name for a local file. */
  source: string;
  /** Bytes, once known (from the server or the file). */
  size: number | null;
  /** The server's validators, to notice a file that changed between two requests. */
  etag: string | null;
  lastModified: string | null;
  /**
   * Whole chunks stored, in order from 0; every one but the shard's last is chunkSize
   * long. A chunk is stored as pieces (keys [id, shard, chunk, offset]) as bytes arrive.
   */
  chunks: number;
  /** SHA-256 (hex) of each whole chunk, recorded on the way, checked before "ready". */
  hashes: string[];
  /** Bytes stored: the whole chunks plus the pieces of the chunk being filled. */
  storedBytes: number;
  /** The start of the file passed the validator. */
  checked: boolean;
  /** Where the GGUF's last tensor ends (from its tensor table), once the header is read. */
  dataEnd?: number | null;
  /** SHA-256 (hex) of the whole shard, when the caller or the server published one. */
  sha256: string | null;
  /** The caller gave sha256 (it is not asked of the publisher again). */
  sha256Given?: boolean;
  /** The size its publisher lists (Hugging Face's model API), to compare with what arrives. */
  publishedSize?: number | null;
  /**
   * With a published checksum: the SHA-256 of the stored chunks, run as they arrive, so
   * the final check needs no second pass; and its result once the shard is whole.
   */
  runningSha256: Sha256State | null;
  streamedSha256: string | null;
  complete: boolean;
}

/** Why a download is paused: only a network pause continues by itself when the browser is back online. */
export type PauseReason = "user" | "network" | "storage";

/** What the store keeps about a model. StoredModel (what the UI sees) is a view of it. */
export interface ModelRecord extends StoredModel {
  source: "url" | "file";
  chunkSize: number;
  shards: ShardRecord[];
  /** Something the user should know about the last run (a pause, a restart, a quota stop). */
  note?: string;
  pauseReason?: PauseReason;
  /** Set when the stored bytes are of no use (they failed to load): Retry downloads them again. */
  refetch?: boolean;
  createdAt: number;
}

/** StoredModel plus the last note, when there is one. */
export type ModelInfo = StoredModel & { note?: string };

export type ProgressListener = (p: DownloadProgress) => void;

export function emptyShard(source: string): ShardRecord {
  return {
    source,
    size: null,
    etag: null,
    lastModified: null,
    chunks: 0,
    hashes: [],
    storedBytes: 0,
    checked: false,
    dataEnd: null,
    sha256: null,
    publishedSize: null,
    runningSha256: null,
    streamedSha256: null,
    complete: false,
  };
}

/**
 * Forgets what was stored of a shard so that it downloads again from byte 0. A checksum
 * the caller gave stays; one the server or the publisher gave is asked for again.
 */
export function resetShard(shard: ShardRecord): void {
  Object.assign(shard, {
    ...emptyShard(shard.source),
    sha256: shard.sha256Given ? shard.sha256 : null,
    sha256Given: shard.sha256Given,
  });
}

export function view(rec: ModelRecord): ModelInfo {
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

export function totalOf(rec: ModelRecord): number | null {
  let total = 0;
  for (const s of rec.shards) {
    if (s.size === null) return null;
    total += s.size;
  }
  return total;
}

export function shardLabel(rec: ModelRecord, s: number): string {
  return rec.shards.length === 1
    ? `"${rec.name}"`
    : `Part ${s + 1} of ${rec.shards.length} of "${rec.name}"`;
}

/** A listener that throws must not stop the download. */
export function notify(listeners: Set<ProgressListener>, progress: DownloadProgress): void {
  for (const listener of listeners) {
    try {
      listener(progress);
    } catch (e) {
      console.warn("A download progress listener failed:", e);
    }
  }
}
