import { useState } from "react";
import { ChatsBackup } from "./ChatTransfer.tsx";
import { useChatStore } from "./state/chatStore.ts";
import { type Conversation, searchConversations } from "./state/conversations.ts";
import { useUiStore } from "./state/uiStore.ts";

/** The list of conversations: new, search, select, rename, delete. */
export function ConversationList() {
  const { conversations, activeId, search, hydrated } = useChatStore();
  const { create, select, setSearch } = useChatStore.getState();
  const setDrawer = useUiStore((s) => s.setDrawer);
  const shown = searchConversations(conversations, search);

  return (
    <nav className="conversation-list" aria-labelledby="chats-heading">
      <div className="list-head">
        <h2 id="chats-heading">Chats</h2>
        <button
          type="button"
          className="primary"
          onClick={() => {
            create();
            setDrawer("none");
          }}
        >
          New chat
        </button>
      </div>
      <input
        type="search"
        className="search"
        placeholder="Search chats"
        aria-label="Search chats"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
      />
      <ul>
        {shown.map((c) => (
          <ConversationItem
            key={c.id}
            conversation={c}
            active={c.id === activeId}
            onSelect={() => {
              select(c.id);
              setDrawer("none");
            }}
          />
        ))}
      </ul>
      {hydrated && shown.length === 0 && (
        <p className="muted small">{search ? "No chat matches that search." : "No chats yet."}</p>
      )}
      <ChatsBackup />
    </nav>
  );
}

function ConversationItem({
  conversation,
  active,
  onSelect,
}: {
  conversation: Conversation;
  active: boolean;
  onSelect: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(conversation.title);
  const { rename, remove } = useChatStore.getState();

  if (editing) {
    return (
      <li className="conversation editing">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (title.trim()) rename(conversation.id, title);
            setEditing(false);
          }}
        >
          <input
            aria-label={`New name for ${conversation.title}`}
            value={title}
            // biome-ignore lint/a11y/noAutofocus: the user just asked to rename this one
            autoFocus
            onChange={(e) => setTitle(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") setEditing(false);
            }}
          />
          <button type="submit">Save</button>
        </form>
      </li>
    );
  }
  return (
    <li className={active ? "conversation active" : "conversation"}>
      <button
        type="button"
        className="conversation-title"
        aria-current={active ? "true" : undefined}
        onClick={onSelect}
      >
        {conversation.title}
      </button>
      <span className="conversation-actions">
        <button
          type="button"
          className="icon"
          aria-label={`Rename ${conversation.title}`}
          title="Rename"
          onClick={() => {
            setTitle(conversation.title);
            setEditing(true);
          }}
        >
          ✎
        </button>
        <button
          type="button"
          className="icon"
          aria-label={`Delete ${conversation.title}`}
          title="Delete"
          onClick={() => {
            if (window.confirm(`Delete "${conversation.title}"? This cannot be undone.`))
              void remove(conversation.id);
          }}
        >
          ×
        </button>
      </span>
    </li>
  );
}
