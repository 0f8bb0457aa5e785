import { useRef, useState } from "react";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { exportJson, exportMarkdown, fileName } from "./state/chatExport.ts";
import { useChatStore } from "./state/chatStore.ts";
import { importChatsFile } from "./state/chatTransfer.ts";

/** Hands the browser a file to save; nothing leaves the page. */
function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** The active chat as a Markdown or JSON file. */
export function ExportChatMenu() {
  const conversation = useChatStore((s) => s.conversations.find((c) => c.id === s.activeId));
  const menu = useRef<HTMLDetailsElement>(null);
  if (!conversation) return null;
  const close = () => menu.current?.removeAttribute("open");
  return (
    <details className="menu" ref={menu}>
      <summary>Export</summary>
      <div className="menu-items">
        <button
          type="button"
          onClick={() => {
            download(
              fileName(conversation.title, "md"),
              exportMarkdown(conversation),
              "text/markdown",
            );
            close();
          }}
        >
          This chat as Markdown
        </button>
        <button
          type="button"
          onClick={() => {
            download(
              fileName(conversation.title, "json"),
              exportJson([conversation], Date.now()),
              "application/json",
            );
            close();
          }}
        >
          This chat as JSON
        </button>
      </div>
    </details>
  );
}

/** Export every chat as one JSON file, and import such a file back (merging). */
export function ChatsBackup() {
  const [result, setResult] = useState<{ message: string } | { error: string } | null>(null);
  const count = useChatStore((s) => s.conversations.length);
  return (
    <div className="chats-backup">
      <div className="row">
        <button
          type="button"
          disabled={count === 0}
          onClick={() => {
            const all = useChatStore.getState().conversations;
            const day = new Date().toISOString().slice(0, 10);
            download(`trit-chats-${day}.json`, exportJson(all, Date.now()), "application/json");
          }}
        >
          Export all chats
        </button>
        <label className="file-button">
          <input
            type="file"
            accept=".json,application/json"
            className="visually-hidden"
            aria-label="Import chats from an export file"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              e.target.value = "";
              if (file) setResult(await importChatsFile(file));
            }}
          />
          <span aria-hidden="true">Import…</span>
        </label>
      </div>
      {result && "error" in result && (
        <ErrorAlert message={result.error} onDismiss={() => setResult(null)} />
      )}
      {result && "message" in result && (
        <p className="muted small" role="status">
          {result.message}
        </p>
      )}
    </div>
  );
}
