import { useEffect } from "react";
import { ChatPanel } from "./ChatPanel.tsx";
import { ConversationList } from "./ConversationList.tsx";
import { ModelPanel } from "./ModelPanel.tsx";
import { SettingsPanel } from "./SettingsPanel.tsx";
import { ShareConsentDialog } from "./ShareDialogs.tsx";
import { useChatStore } from "./state/chatStore.ts";
import { useEngineStore } from "./state/engineStore.ts";
import { useModelManagerStore } from "./state/modelManagerStore.ts";
import { withoutShareParams } from "./state/shareLink.ts";
import { type Theme, useUiStore } from "./state/uiStore.ts";

let started: Promise<void> | null = null;
/** Once per page (React's StrictMode runs effects twice in development). */
function startUpOnce(): Promise<void> {
  started ??= startUp();
  return started;
}

/** Settles once saved chats and models are read: a share link can be shown from then on. */
let readyForLinks: Promise<void> | null = null;

/** Starts the engine, reads saved chats and models, then opens a share link if there is one. */
async function startUp(): Promise<void> {
  const chat = useChatStore.getState();
  const engine = useEngineStore.getState();
  readyForLinks = Promise.all([chat.hydrate(), engine.start()]).then(async () => {
    if (useEngineStore.getState().status === "ready")
      await useModelManagerStore.getState().refresh();
  });
  await readyForLinks;
  await openShareFromAddress();
  if (!useModelManagerStore.getState().pendingShare)
    await useModelManagerStore.getState().restoreLastModel();
}

/** Opens the share link in the address bar, if there is one. */
async function openShareFromAddress(): Promise<void> {
  const href = window.location.href;
  const withoutShare = withoutShareParams(href);
  if (withoutShare === href) return;
  // Forget the link in the address bar so a reload does not ask again.
  window.history.replaceState(null, "", withoutShare);
  await useModelManagerStore.getState().openShareLink(href, document.baseURI);
}

export function App() {
  const { theme, drawer, setTheme, setDrawer } = useUiStore();

  useEffect(() => {
    void startUpOnce();
    // A share link opened in a tab that already shows Trit changes only the #fragment:
    // the page does not load again, so read the link when the fragment changes (without
    // waiting for the last model to finish loading).
    const onHashChange = () => {
      void startUpOnce();
      void readyForLinks?.then(openShareFromAddress);
    };
    window.addEventListener("hashchange", onHashChange);
    return () => window.removeEventListener("hashchange", onHashChange);
  }, []);

  // Esc stops a reply from anywhere on the page (dialogs handle their own Esc).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape" || e.defaultPrevented) return;
      if (useChatStore.getState().generation) void useChatStore.getState().stop();
      else if (useUiStore.getState().drawer !== "none") setDrawer("none");
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [setDrawer]);

  return (
    <div className={`app drawer-${drawer}`}>
      <header className="app-header">
        <button
          type="button"
          className="drawer-toggle"
          aria-expanded={drawer === "chats"}
          aria-controls="chats-drawer"
          onClick={() => setDrawer(drawer === "chats" ? "none" : "chats")}
        >
          Chats
        </button>
        <h1>Trit</h1>
        <p className="tagline">BitNet b1.58 on your own CPU. Nothing leaves this page.</p>
        <span className="spacer" />
        <label className="theme-picker">
          <span className="visually-hidden">Theme</span>
          <select value={theme} onChange={(e) => setTheme(e.target.value as Theme)}>
            <option value="system">Auto</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
        </label>
        <button
          type="button"
          className="drawer-toggle"
          aria-expanded={drawer === "side"}
          aria-controls="side-drawer"
          aria-label="Model and settings"
          onClick={() => setDrawer(drawer === "side" ? "none" : "side")}
        >
          Model
        </button>
      </header>
      <div className="app-body">
        <aside id="chats-drawer" className="drawer chats-drawer">
          <ConversationList />
        </aside>
        <main className="app-main">
          <ChatPanel />
        </main>
        <aside id="side-drawer" className="drawer side-drawer">
          <ModelPanel />
          <SettingsPanel />
        </aside>
        {drawer !== "none" && (
          <button
            type="button"
            className="scrim"
            aria-label="Close the panel"
            onClick={() => setDrawer("none")}
          />
        )}
      </div>
      <ShareConsentDialog />
    </div>
  );
}
