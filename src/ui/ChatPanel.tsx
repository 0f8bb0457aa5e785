import { useEffect, useRef } from "react";
import { ExportChatMenu } from "./ChatTransfer.tsx";
import { Composer } from "./Composer.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { MessageItem } from "./MessageItem.tsx";
import { ShareButton } from "./ShareDialogs.tsx";
import { StatsBar } from "./StatsBar.tsx";
import { useChatStore } from "./state/chatStore.ts";
import { formatBytes } from "./state/format.ts";
import { memoryWarningText } from "./state/memory.ts";
import { entryUrl, friendlyModelName, PUBLISHED_MODEL, TINY_MODEL } from "./state/modelCatalog.ts";
import { useModelManagerStore } from "./state/modelManagerStore.ts";

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
        <ModelBadge />
        <ExportChatMenu />
        <ShareButton />
      </div>
      <ol className="messages" ref={list} aria-live="polite" aria-label="Messages">
        {messages.length === 0 && <EmptyState />}
        {messages.map((m, i) => (
          <MessageItem key={m.id} message={m} isLast={i === messages.length - 1} busy={busy} />
        ))}
      </ol>
      {error && <ErrorAlert message={error} onDismiss={dismissError} className="chat-error" />}
      <MemoryWarning />
      <Composer />
      <StatsBar />
    </section>
  );
}

/** Asks before loading a model that will not fit in wasm memory. */
function MemoryWarning() {
  const warning = useModelManagerStore((s) => s.memoryWarning);
  const models = useModelManagerStore((s) => s.models);
  const { load, dismissMemoryWarning } = useModelManagerStore.getState();
  if (!warning) return null;
  const name = friendlyModelName(warning.modelId, models, document.baseURI);
  return (
    <div role="alert" className="error alert chat-error memory-warning">
      <span>{memoryWarningText(name, warning.plan)}</span>
      <span className="row">
        <button type="button" onClick={() => void load(warning.modelId, { anyway: true })}>
          Load anyway
        </button>
        <button type="button" onClick={dismissMemoryWarning}>
          Don't load
        </button>
      </span>
    </div>
  );
}

/** Which model is answering, by its friendly name, so it shows even with the drawers shut. */
function ModelBadge() {
  const loaded = useModelManagerStore((s) => s.loaded);
  const loading = useModelManagerStore((s) => s.loading);
  const models = useModelManagerStore((s) => s.models);
  const text = loading
    ? `Loading ${friendlyModelName(loading.modelId, models, document.baseURI)}…`
    : loaded
      ? friendlyModelName(loaded.modelId, models, document.baseURI)
      : "No model";
  return (
    <span className="chat-model muted" data-testid="chat-model" title={`Model: ${text}`}>
      {text}
    </span>
  );
}

function EmptyState() {
  const loaded = useModelManagerStore((s) => s.loaded);
  const loading = useModelManagerStore((s) => s.loading);
  const builtIn = useModelManagerStore((s) => s.builtInAvailable);
  const builtInBytes = useModelManagerStore((s) => s.builtInBytes);
  const { downloadUrl } = useModelManagerStore.getState();
  if (loaded) return <li className="empty muted">Say something to start.</li>;
  if (loading) return <li className="empty muted">Loading the model…</li>;
  return (
    <li className="empty">
      <p>Trit runs a language model on your own CPU. Pick one to start:</p>
      <div className="empty-actions">
        {builtIn && (
          <button
            type="button"
            onClick={() => void downloadUrl(entryUrl(TINY_MODEL, document.baseURI))}
          >
            Try the tiny test model ({builtInBytes ? formatBytes(builtInBytes) : "small"}, served
            here, talks nonsense)
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
