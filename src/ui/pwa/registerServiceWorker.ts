/**
 * Registers the service worker in production builds. If the page is still not cross-origin
 * isolated once the worker controls it (a static host without COOP/COEP), reloads once so
 * the worker's headers apply; if that does not help, the app stays single-threaded and
 * the stats say so.
 */
const RELOADED_KEY = "trit:isolation-reload";

function reloadOnceForIsolation(): void {
  if (window.crossOriginIsolated) return;
  try {
    if (sessionStorage.getItem(RELOADED_KEY)) return;
    sessionStorage.setItem(RELOADED_KEY, "1");
  } catch {
    return; // Without sessionStorage a reload could loop; stay single-threaded instead.
  }
  window.location.reload();
}

export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !("serviceWorker" in navigator)) return;
  const base = import.meta.env.BASE_URL;
  if (navigator.serviceWorker.controller) reloadOnceForIsolation();
  navigator.serviceWorker.addEventListener("controllerchange", reloadOnceForIsolation);
  navigator.serviceWorker.register(`${base}sw.js`, { scope: base }).catch((err: unknown) => {
    // Offline use will not work, but the app does; say so in the console only.
    console.warn("Trit: the service worker did not register:", err);
  });
}
