/**
 * The headers that make a page cross-origin isolated (and so give it SharedArrayBuffer and
 * threads), sent by the dev and preview servers (vite.config.ts) and added by the service
 * worker on static hosts (sw.ts).
 *
 * COEP is `require-corp`, not `credentialless`: WebKit (Safari) ignores `credentialless` and
 * would never be isolated. `require-corp` blocks only cross-origin no-cors subresources
 * without a Cross-Origin-Resource-Policy header; Trit loads none (its files are same-origin,
 * and model downloads from other hosts are CORS fetches, which it allows).
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};
