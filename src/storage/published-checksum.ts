/**
 * Checksums a file's publisher gives for it, to check the bytes that arrive.
 *
 * Hugging Face puts an LFS file's SHA-256 in X-Linked-Etag on the redirect that a resolve
 * URL answers, which a page's fetch never sees (it follows the redirect). Its model API
 * does reach a page (with CORS): GET /api/models/<owner>/<repo>/tree/<revision>[/<folder>]
 * lists the folder's files, each with `size` and, for LFS (and Xet) files,
 * `lfs: { oid: <sha256>, size }` (what @huggingface/hub's listFiles reads; pages follow
 * the Link header).
 */

export function normaliseSha(value: string | null | undefined): string | null {
  const v = value?.trim().toLowerCase();
  return v && /^[0-9a-f]{64}$/.test(v) ? v : null;
}

/**
 * A SHA-256 of the whole file that the server publishes in its headers: an X-Linked-Etag
 * or ETag of 64 hex digits (Hugging Face LFS files), or an RFC 9530 Repr-Digest.
 */
export function publishedSha256(headers: Headers): string | null {
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

/** Where a Hugging Face style resolve URL points: the host's API, the repo, revision and path. */
export function hubLocation(
  url: string,
): { origin: string; repo: string; revision: string; path: string } | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  // /<owner>/<repo>/resolve/<revision>/<path…> (models; datasets and spaces live elsewhere).
  const m = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(u.pathname);
  if (!m || m[1] === "datasets" || m[1] === "spaces") return null;
  return {
    origin: u.origin,
    repo: `${m[1]}/${m[2]}`,
    revision: decodeURIComponent(m[3]),
    path: decodeURIComponent(m[4]),
  };
}

/**
 * The SHA-256 and size the Hugging Face model API lists for the file a resolve URL
 * downloads, from the same host; null when the URL is not of that shape, the API does not
 * answer, or the file is not in LFS (a git blob id is not a SHA-256 of the bytes).
 */
export async function hubFileChecksum(
  url: string,
  fetch: typeof globalThis.fetch,
  signal?: AbortSignal,
): Promise<{ sha256: string; size: number | null } | null> {
  const at = hubLocation(url);
  if (!at) return null;
  const slash = at.path.lastIndexOf("/");
  const folder = slash < 0 ? "" : at.path.slice(0, slash);
  let next: string | null =
    `${at.origin}/api/models/${at.repo}/tree/${encodeURIComponent(at.revision)}` +
    `${folder ? `/${folder.split("/").map(encodeURIComponent).join("/")}` : ""}`;
  const timeout = AbortSignal.timeout(15_000);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    for (let page = 0; next && page < 20; page++) {
      const res: Response = await fetch(next, {
        headers: { Accept: "application/json" },
        cache: "no-store",
        signal: combined,
      });
      if (!res.ok) return null;
      const entries = (await res.json()) as unknown;
      if (!Array.isArray(entries)) return null;
      for (const entry of entries as HubTreeEntry[]) {
        if (entry?.path !== at.path) continue;
        const sha = normaliseSha(entry.lfs?.oid);
        if (!sha) return null;
        const size = entry.lfs?.size ?? entry.size;
        return { sha256: sha, size: Number.isSafeInteger(size) ? (size as number) : null };
      }
      next = nextLink(res.headers.get("link"), next);
    }
  } catch (e) {
    if (signal?.aborted) throw e;
    // No answer (offline, no CORS, not a Hub): the download goes on without a checksum.
  }
  return null;
}

interface HubTreeEntry {
  path?: string;
  size?: number;
  lfs?: { oid?: string; size?: number };
}

function nextLink(header: string | null, base: string): string | null {
  const m = header ? /<([^>]+)>\s*;\s*rel="?next"?/i.exec(header) : null;
  return m ? new URL(m[1], base).href : null;
}
