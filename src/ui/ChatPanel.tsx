import { useEffect, useRef } from "react";
import { Composer } from "./Composer.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { MessageItem } from "./MessageItem.tsx";
import { ShareButton } from "./ShareDialogs.tsx";
import { StatsBar } from "./StatsBar.tsx";
import { useChatStore } from "./state/chatStore.ts";
import { formatBytes } from "./state/format.ts";
import { DEMO_MODEL, entryUrl, PUBLISHED_MODEL } from "./state/modelCatalog.ts";
import { useModelStore } from "./state/modelStore.ts";

/** The chat: title and share, the messages, the composer, and live stats. */
export function ChatPanel() {
  const conversation = useChatStore((s) => s.conversations.find((c) => c.id === s.activeId));
  const generation = useChatStore((s) => s.generation);
  const error = useChatStore((s) => s.error);
  const { dismissError } = useChatStore.getState();
  const list = useRef<HTMLOListElement>(null);
  const messages = conversation?.messages ?? [];
  const lastContent = messages.at(-1)?.content;

  // Follow the reply as it streams, unless the reader scrolled up to read.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the last message grows
  useEffect(() => {
    const el = list.current;
    if (!el) return;
    if (el.scrollHeight - el.scrollTop - el.clientHeight < 120) el.scrollTop = el.scrollHeight;
  }, [lastContent, messages.length]);

  const busy = generation !== null;
  return (
    <section className="chat-panel" aria-label="Chat">
      <div className="chat-head">
        <h2 className="chat-title">{conversation?.title ?? "New chat"}</h2>
        <ShareButton />
      </div>
      <ol className="messages" ref={list} aria-live="polite" aria-label="Messages">
        {messages.length === 0 && <EmptyState />}
        {messages.map((m, i) => (
          <MessageItem key={m.id} message={m} isLast={i === messages.length - 1} busy={busy} />
        ))}
      </ol>
      {error && <ErrorAlert message={error} onDismiss={dismissError} className="chat-error" />}
      <Composer />
      <StatsBar />
    </section>
  );
}

function EmptyState() {
  const loaded = useModelStore((s) => s.loaded);
  const loading = useModelStore((s) => s.loading);
  const builtIn = useModelStore((s) => s.builtInAvailable);
  const builtInBytes = useModelStore((s) => s.builtInBytes);
  const { downloadUrl } = useModelStore.getState();
  if (loaded) return <li className="empty muted">Say something to start.</li>;
  if (loading) return <li className="empty muted">Loading the model…</li>;
  return (
    <li className="empty">
      <p>Trit runs a language model on your own CPU. Pick one to start:</p>
      <div className="empty-actions">
        {builtIn && (
          <button
            type="button"
            onClick={() => void downloadUrl(entryUrl(DEMO_MODEL, document.baseURI))}
          >
            Try the demo model ({builtInBytes ? formatBytes(builtInBytes) : "small"}, built in,
            writes English but knows little)
          </button>
        )}
        <button
          type="button"
          className="primary"
          onClick={() => void downloadUrl(PUBLISHED_MODEL.url)}
        >
          Download {PUBLISHED_MODEL.name} (≈ {formatBytes(PUBLISHED_MODEL.sizeBytes ?? 0)}, once)
        </button>
      </div>
      <p className="muted small">
        The model is stored in this browser; after that Trit works offline. Nothing you type leaves
        this page.
      </p>
    </li>
  );
}
