/** What the model store tells its callers about a model and a download. */

/** A model the store knows about, and how far it has got. */
export interface StoredModel {
  /** Stable id derived from the source (URL or file name + size). */
  id: string;
  name: string;
  /** The URL(s) it comes from; a split GGUF has one per shard, in order. Empty for local files. */
  urls: string[];
  /** Total bytes when known. */
  totalBytes: number | null;
  storedBytes: number;
  state: "downloading" | "paused" | "verifying" | "ready" | "failed";
  /**
   * Why it failed, in words, when state is "failed" (refused bytes, a checksum that does
   * not match, weights that did not load). resumeDownload then retries from the URL.
   */
  error?: string;
}

/** What Trit stores beside the browser's figures for this site (null where it has no Storage API). */
export interface StorageFigures {
  /** Bytes of models stored (every stored byte, finished or not). */
  modelBytes: number;
  /**
   * Bytes of the models' kernel-layout copies (storage/weight-images.ts), which make a
   * later start a straight read; 0 or absent where there are none.
   */
  imageBytes?: number;
  usedBytes: number | null;
  quotaBytes: number | null;
  /** Whether the browser keeps this site's data when space runs low; null when it will not say. */
  persisted: boolean | null;
}

export interface DownloadProgress {
  modelId: string;
  bytes: number;
  total: number | null;
  /** Bytes per second over the last few seconds. */
  rate: number;
  /** Seconds left at the current rate, when the total is known. */
  etaSeconds: number | null;
  state: StoredModel["state"];
  /** Something the user should know that is not an error (e.g. the server ignored Range). */
  note?: string;
}
