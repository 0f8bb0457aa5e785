import { Fragment, useLayoutEffect, useRef } from "react";
import { ExportChatMenu } from "./ChatTransfer.tsx";
import { Composer } from "./Composer.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { MessageItem } from "./MessageItem.tsx";
import { ShareButton } from "./ShareDialogs.tsx";
import { StatsBar } from "./StatsBar.tsx";
import { useChatStore } from "./state/chatStore.ts";
import { contextStart } from "./state/conversations.ts";
import { formatBytes } from "./state/format.ts";
import { memoryWarningText } from "./state/memory.ts";
import { DEMO_MODEL, entryUrl, friendlyModelName, PUBLISHED_MODEL } from "./state/modelCatalog.ts";
import { useModelManagerStore } from "./state/modelManagerStore.ts";

/** The chat: title and share, the messages, the composer, and live stats. */
export function ChatPanel() {
  const conversation = useChatStore((s) => s.conversations.find((c) => c.id === s.activeId));
  const generation = useChatStore((s) => s.generation);
  const error = useChatStore((s) => s.error);
  const { dismissError } = useChatStore.getState();
  const contextLength = useModelManagerStore((s) => s.loaded?.contextLength);
  const list = useRef<HTMLOListElement>(null);
  const messages = conversation?.messages ?? [];
  const lastContent = messages.at(-1)?.content;
  const view = conversation ? contextStart(conversation) : null;

  // Follow the conversation while the reader is at the bottom, and whenever they ask for a
  // reply (send, regenerate, edit); once they scroll up to read, leave the view alone.
  const following = useRef(true);
  const onScroll = () => {
    const el = list.current;
    if (el) following.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  };
  const replyId = generation?.replyId;
  const conversationId = conversation?.id;
  const seen = useRef<{ replyId?: string; conversationId?: string }>({});
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the messages grow
  useLayoutEffect(() => {
    const asked = replyId !== undefined && replyId !== seen.current.replyId;
    const switched = conversationId !== seen.current.conversationId;
    seen.current = { replyId, conversationId };
    if (asked || switched) following.current = true;
    const el = list.current;
    if (el && following.current) el.scrollTop = el.scrollHeight;
  }, [lastContent, messages.length, replyId, conversationId]);

  const busy = generation !== null;
  return (
    <section className="chat-panel" aria-label="Chat">
      <div className="chat-head">
        <h2 className="chat-title">{conversation?.title ?? "New chat"}</h2>
        <ModelBadge />
        <ExportChatMenu />
        <ShareButton />
      </div>
      <ol
        className="messages"
        ref={list}
        onScroll={onScroll}
        aria-live="polite"
        aria-label="Messages"
      >
        {messages.length === 0 && <EmptyState />}
        {messages.map((m, i) => (
          <Fragment key={m.id}>
            {view?.index === i && (
              <li className="context-note" role="note" data-testid="context-note">
                The {view.droppedMessages} earliest messages above are out of the model's view
                {contextLength ? ` (its context holds ${contextLength} tokens)` : ""}; it still sees
                the system prompt and everything from here on.
              </li>
            )}
            <MessageItem message={m} isLast={i === messages.length - 1} busy={busy} />
          </Fragment>
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
