import { abortRunningSaves, saveAbortedAgain } from "./state/chatStore.ts";

/**
 * A page the user leaves may be kept, paused, in the browser's back/forward cache. WebKit
 * pauses its workers and IndexedDB transactions there, and a transaction paused mid-way
 * holds its object store: every other page of the site then waits on that store, with no
 * error, until the cached page comes back or is dropped (seen: a new page never read its
 * stored models after the user left one mid-download).
 *
 * So a page being hidden leaves no transaction running: its engine worker ends
 * (startEngineWorker) and its own saves are aborted, as closing the page would do. A page
 * brought back from the cache has no engine: it saves what it had aborted, then reloads,
 * and stored chats and models come back from IndexedDB, and the last model loads again.
 */
export function leaveNothingPausedInPageCache(): void {
  window.addEventListener("pagehide", (event) => {
    if (event.persisted) abortRunningSaves();
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) void saveAbortedAgain().finally(() => window.location.reload());
  });
}
