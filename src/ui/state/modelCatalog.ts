import type { StoredModel } from "../../worker/api.ts";

/** A model the app offers before anything is stored. */
export interface CatalogEntry {
  id: string;
  name: string;
  description: string;
  /** Absolute, or relative to the app's own address (the built-in model). */
  url: string;
  sizeBytes: number | null;
  /** The size is a rounded public figure, not an exact byte count. */
  sizeApproximate: boolean;
  builtIn: boolean;
}

/**
 * The published model. Its size is the rounded figure Hugging Face shows (1.19 GB); the
 * exact byte count comes from the server when the download starts.
 */
export const PUBLISHED_MODEL: CatalogEntry = {
  id: "bitnet-b1.58-2b-4t",
  name: "BitNet b1.58 2B4T",
  description:
    "Microsoft's 2-billion-parameter ternary chat model (GGUF, I2_S), from Hugging Face.",
  url: "https://huggingface.co/microsoft/bitnet-b1.58-2B-4T-gguf/resolve/main/ggml-model-i2_s.gguf",
  sizeBytes: 1_190_000_000,
  sizeApproximate: true,
  builtIn: false,
};

/**
 * The demo model: a small BitNet b1.58 model trained for Trit on the Brown corpus
 * (scripts/demo-model/), committed as public/demo/ and precached by the service worker, so
 * the app chats offline from the first visit.
 */
export const DEMO_MODEL: CatalogEntry = {
  id: "demo-builtin",
  name: "Trit demo model (built in)",
  description:
    "A 3 MB demo model with BitNet b1.58 2B4T's architecture, trained for Trit on the Brown corpus (American English of 1961). It writes English but knows little; for real answers download BitNet b1.58 2B4T.",
  url: "demo/trit-demo-brown-i2_s.gguf",
  sizeBytes: null,
  sizeApproximate: false,
  builtIn: true,
};

export const CATALOG: CatalogEntry[] = [PUBLISHED_MODEL, DEMO_MODEL];

export function entryUrl(entry: CatalogEntry, base: string): string {
  return new URL(entry.url, base).href;
}

/** The stored model that came from `url` (its first shard), if any. */
export function storedFromUrl(models: StoredModel[], url: string): StoredModel | undefined {
  return models.find((m) => m.urls[0] === url);
}

/** The catalog entry a URL belongs to, if any. */
export function catalogEntryFor(url: string, base: string): CatalogEntry | undefined {
  return CATALOG.find((entry) => entryUrl(entry, base) === url);
}

/**
 * What to call a loaded model: its catalog name when it came from the catalog, else the
 * stored model's name (the file name), else its id.
 */
export function friendlyModelName(modelId: string, models: StoredModel[], base: string): string {
  const stored = models.find((m) => m.id === modelId);
  const entry = stored?.urls[0] ? catalogEntryFor(stored.urls[0], base) : undefined;
  return entry?.name ?? stored?.name ?? modelId;
}
