/**
 * Registers the service worker in production builds. If the page is still not cross-origin
 * isolated once the worker controls it (a static host without COOP/COEP), reloads once so
 * the worker's headers apply. If that reload did not isolate the page either (a browser or
 * host where the headers never help), it is remembered for this browser version, so no
 * later tab reloads for nothing; the app stays single-threaded and the stats say so.
 */
export const RELOADED_KEY = "trit:isolation-reload";
export const NO_HELP_KEY = "trit:isolation-reload-does-not-help";

export interface IsolationFacts {
  /** window.crossOriginIsolated; undefined in a browser without the notion. */
  isolated: boolean | undefined;
  /** A service worker controls the page. */
  controlled: boolean;
  /** This tab already reloaded to get isolation. */
  reloadedThisTab: boolean;
  /** The user agent for which such a reload was seen not to help, if any. */
  noHelpFor: string | null;
  userAgent: string;
}

/** What to do about isolation on a page load: reload once, remember a useless reload, or nothing. */
export function isolationReloadStep(f: IsolationFacts): "reload" | "remember-no-help" | "nothing" {
  if (f.isolated !== false || !f.controlled) return "nothing";
  if (f.reloadedThisTab) return f.noHelpFor === f.userAgent ? "nothing" : "remember-no-help";
  return f.noHelpFor === f.userAgent ? "nothing" : "reload";
}

function reloadOnceForIsolation(): void {
  try {
    const step = isolationReloadStep({
      isolated: window.crossOriginIsolated,
      controlled: !!navigator.serviceWorker.controller,
      reloadedThisTab: sessionStorage.getItem(RELOADED_KEY) !== null,
      noHelpFor: localStorage.getItem(NO_HELP_KEY),
      userAgent: navigator.userAgent,
    });
    if (step === "remember-no-help") localStorage.setItem(NO_HELP_KEY, navigator.userAgent);
    if (step !== "reload") return;
    sessionStorage.setItem(RELOADED_KEY, "1");
  } catch {
    return; // Without web storage a reload could loop; stay single-threaded instead.
  }
  window.location.reload();
}

export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !("serviceWorker" in navigator)) return;
  const base = import.meta.env.BASE_URL;
  reloadOnceForIsolation();
  navigator.serviceWorker.addEventListener("controllerchange", reloadOnceForIsolation);
  navigator.serviceWorker.register(`${base}sw.js`, { scope: base }).catch((err: unknown) => {
    // Offline use will not work, but the app does; say so in the console only.
    console.warn("Trit: the service worker did not register:", err);
  });
}
