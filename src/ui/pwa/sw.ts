/**
 * Trit's service worker (built by vite-plugin-pwa with injectManifest).
 * - Precaches the app shell and kernels so the app opens with the network off.
 * - Adds COOP/COEP to what it serves, so a static host that cannot send headers still
 *   gets a cross-origin isolated page (and threads) from the second load on.
 * Model files are not touched (the engine stores them in IndexedDB itself, and Range
 * requests pass straight to the network), except the built-in demo model, which is
 * precached with the shell so the app chats offline from the first visit.
 */

import { ISOLATION_HEADERS } from "./isolationHeaders.ts";

// The TypeScript DOM library has no service worker types; these are the parts used here.
interface SwExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface SwFetchEvent extends SwExtendableEvent {
  request: Request;
  respondWith(response: Promise<Response>): void;
}
interface SwScope {
  registration: { scope: string };
  clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(
    type: "install" | "activate",
    listener: (event: SwExtendableEvent) => void,
  ): void;
  addEventListener(type: "fetch", listener: (event: SwFetchEvent) => void): void;
}
interface PrecacheEntry {
  url: string;
  revision: string | null;
}

const sw = self as unknown as SwScope;
// vite-plugin-pwa replaces this expression with the list of built files.
const manifest: PrecacheEntry[] = (self as unknown as { __WB_MANIFEST: PrecacheEntry[] })
  .__WB_MANIFEST;

const scope = new URL(sw.registration.scope);
const SHELL_URL = new URL("index.html", scope).href;
// One cache per build: the name changes whenever any precached file changes.
const version = manifest
  .map((e) => `${e.url}@${e.revision ?? ""}`)
  .join("|")
  .split("")
  .reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7)
  .toString(36);
const CACHE = `trit-shell-${version}`;
const precached = new Set(manifest.map((e) => new URL(e.url, scope).href));

/** The same response with the isolation headers added (opaque responses cannot be changed). */
function withIsolation(response: Response): Response {
  if (response.status === 0 || response.type === "opaque") return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) {
    if (!headers.has(name)) headers.set(name, value);
  }
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

sw.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll([...precached].map((url) => new Request(url, { cache: "reload" })));
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("trit-shell-") && name !== CACHE) await caches.delete(name);
      }
      await sw.clients.claim();
    })(),
  );
});

/** Pages: the network when it answers (fresh app), else the precached shell. */
async function navigate(request: Request): Promise<Response> {
  try {
    const response = await fetch(request);
    if (response.ok || !(await caches.match(SHELL_URL))) return withIsolation(response);
  } catch {
    // Offline: fall through to the shell.
  }
  const shell = await caches.match(SHELL_URL);
  if (shell) return withIsolation(shell);
  return new Response("Trit is offline and its app shell is not cached yet.", {
    status: 503,
    headers: { "Content-Type": "text/plain; charset=utf-8", ...ISOLATION_HEADERS },
  });
}

/** Built files: the cache first (they are content-hashed), the network if missing. */
async function asset(request: Request): Promise<Response> {
  const cached = await caches.match(request.url);
  return withIsolation(cached ?? (await fetch(request)));
}

/**
 * HEAD of a precached file (the app asks the built-in model's size that way): its headers,
 * with the true Content-Length. A server that compressed the file sent none, and the
 * cache holds the decoded body, so the length is that body's and the encoding goes.
 */
async function head(request: Request): Promise<Response> {
  const cached = await caches.match(request.url);
  if (!cached) return withIsolation(await fetch(request));
  const headers = new Headers(cached.headers);
  headers.delete("content-encoding");
  headers.delete("transfer-encoding");
  headers.set("content-length", String((await cached.blob()).size));
  return withIsolation(
    new Response(null, { status: cached.status, statusText: cached.statusText, headers }),
  );
}

sw.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method === "HEAD") {
    const url = new URL(request.url);
    url.hash = "";
    if (precached.has(url.href)) event.respondWith(head(request));
    return;
  }
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== scope.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(request));
    return;
  }
  url.hash = "";
  if (precached.has(url.href)) event.respondWith(asset(request));
});
