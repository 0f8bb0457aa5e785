import { type RefObject, useEffect, useMemo, useRef } from "react";
import { ChatPanel } from "./ChatPanel.tsx";
import { ConversationList } from "./ConversationList.tsx";
import { focusables, focusIsLost } from "./focus.ts";
import { ModelPanel } from "./ModelPanel.tsx";
import { SettingsPanel } from "./SettingsPanel.tsx";
import { ShareConsentDialog } from "./ShareDialogs.tsx";
import { useChatStore } from "./state/chatStore.ts";
import { useEngineStore } from "./state/engineStore.ts";
import { useModelManagerStore } from "./state/modelManagerStore.ts";
import { withoutShareParams } from "./state/shareLink.ts";
import { type Drawer, type Theme, useUiStore } from "./state/uiStore.ts";

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

/**
 * An open drawer over the page (narrow screens) holds the keyboard: focus moves into it,
 * Tab cycles inside it, and when it closes focus goes back to the button that opened it.
 */
function useDrawerFocus(
  drawer: Drawer,
  panels: Record<Exclude<Drawer, "none">, RefObject<HTMLElement | null>>,
  scrimRef: RefObject<HTMLElement | null>,
) {
  const opener = useRef<HTMLElement | null>(null);
  useEffect(() => {
    const panel = drawer === "none" ? null : panels[drawer].current;
    if (panel) {
      if (!panel.contains(document.activeElement))
        opener.current = document.activeElement as HTMLElement | null;
      focusables(panel)[0]?.focus();
      const onKey = (e: KeyboardEvent) => {
        // On wide screens the panel is part of the page, not over it: no trap there.
        const scrim = scrimRef.current;
        if (e.key !== "Tab" || !scrim || getComputedStyle(scrim).display === "none") return;
        const items = focusables(panel);
        if (items.length === 0) return;
        const active = document.activeElement;
        const outside = !panel.contains(active);
        if (e.shiftKey && (outside || active === items[0])) {
          e.preventDefault();
          items[items.length - 1].focus();
        } else if (!e.shiftKey && (outside || active === items[items.length - 1])) {
          e.preventDefault();
          items[0].focus();
        }
      };
      document.addEventListener("keydown", onKey);
      return () => document.removeEventListener("keydown", onKey);
    }
    const back = opener.current;
    opener.current = null;
    const inClosed = Object.values(panels).some((p) => p.current?.contains(document.activeElement));
    if (back?.isConnected && (inClosed || focusIsLost())) back.focus();
  }, [drawer, panels, scrimRef]);
}

export function App() {
  const { theme, drawer, setTheme, setDrawer } = useUiStore();
  const chatsPanel = useRef<HTMLElement>(null);
  const sidePanel = useRef<HTMLElement>(null);
  const scrim = useRef<HTMLButtonElement>(null);
  const panels = useMemo(() => ({ chats: chatsPanel, side: sidePanel }), []);
  useDrawerFocus(drawer, panels, scrim);

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
        <aside
          id="chats-drawer"
          className="drawer chats-drawer"
          aria-label="Chats"
          ref={chatsPanel}
        >
          <ConversationList />
        </aside>
        <main className="app-main">
          <ChatPanel />
        </main>
        <aside
          id="side-drawer"
          className="drawer side-drawer"
          aria-label="Model and settings"
          ref={sidePanel}
        >
          <ModelPanel />
          <SettingsPanel />
        </aside>
        {drawer !== "none" && (
          // A pointer's way out; the keyboard's is Esc (so Tab never lands behind the drawer).
          <button
            type="button"
            className="scrim"
            aria-label="Close the panel"
            tabIndex={-1}
            ref={scrim}
            onClick={() => setDrawer("none")}
          />
        )}
      </div>
      <ShareConsentDialog />
    </div>
  );
}
