import { StoreError } from "./errors.ts";

// llama.cpp's gguf-split names shards "<name>-00001-of-00003.gguf".
const SHARD = /-(\d{5})-of-(\d{5})\.gguf$/i;

function pathOf(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new StoreError("bad-input", `"${url}" is not a valid URL.`);
  }
}

/**
 * The full, ordered shard list of a model. One URL of a split set
 * ("…-00002-of-00003.gguf") expands to all of its shards; a list of several URLs is
 * taken as given, in order.
 */
export function expandSplitUrls(urls: string[]): string[] {
  if (urls.length === 0) throw new StoreError("bad-input", "No URL was given.");
  for (const url of urls) {
    const u = pathOf(url);
    if (u.protocol !== "https:" && u.protocol !== "http:") {
      throw new StoreError("bad-input", `"${url}" is not an http(s) URL.`);
    }
  }
  if (urls.length > 1) return [...urls];
  const u = pathOf(urls[0]);
  const m = SHARD.exec(u.pathname);
  if (!m) return [urls[0]];
  const count = Number(m[2]);
  const index = Number(m[1]);
  if (count < 1 || index < 1 || index > count) {
    throw new StoreError(
      "bad-input",
      `"${urls[0]}" names shard ${index} of ${count}, which cannot exist.`,
    );
  }
  const out: string[] = [];
  for (let i = 1; i <= count; i++) {
    const shard = new URL(u);
    shard.pathname = u.pathname.replace(
      SHARD,
      `-${String(i).padStart(5, "0")}-of-${m[2]}${m[0].slice(-5)}`,
    );
    out.push(shard.toString());
  }
  return out;
}

/** A readable name for a model from its shard URLs: the file name, without the shard suffix. */
export function modelNameFromUrls(urls: string[]): string {
  const path = pathOf(urls[0]).pathname;
  const file = decodeURIComponent(path.slice(path.lastIndexOf("/") + 1)) || urls[0];
  if (urls.length === 1) return file;
  return `${file.replace(SHARD, ".gguf")} (${urls.length} parts)`;
}
