import { useEffect, useRef, useState } from "react";
import { ChatsBackup } from "./ChatTransfer.tsx";
import { focusComposer } from "./focus.ts";
import { useChatStore } from "./state/chatStore.ts";
import { type Conversation, searchConversations } from "./state/conversations.ts";
import { useUiStore } from "./state/uiStore.ts";

/** The list of conversations: new, search, select, rename, delete. */
export function ConversationList() {
  const { conversations, activeId, search, hydrated } = useChatStore();
  const { create, select, setSearch } = useChatStore.getState();
  const setDrawer = useUiStore((s) => s.setDrawer);
  const shown = searchConversations(conversations, search);
  const list = useRef<HTMLUListElement>(null);
  const newChat = useRef<HTMLButtonElement>(null);

  /** After a delete: the chat that took its place in the list, else "New chat". */
  const focusAfterDelete = (index: number) => {
    const titles = list.current?.querySelectorAll<HTMLElement>(".conversation-title") ?? [];
    const next = titles[Math.min(index, titles.length - 1)];
    (next ?? newChat.current)?.focus();
  };

  return (
    <nav className="conversation-list" aria-labelledby="chats-heading">
      <div className="list-head">
        <h2 id="chats-heading">Chats</h2>
        <button
          type="button"
          className="primary"
          ref={newChat}
          onClick={() => {
            create();
            setDrawer("none");
            focusComposer();
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
      <ul ref={list}>
        {shown.map((c, i) => (
          <ConversationItem
            key={c.id}
            conversation={c}
            active={c.id === activeId}
            onSelect={() => {
              select(c.id);
              setDrawer("none");
              focusComposer();
            }}
            onDeleted={() => focusAfterDelete(i)}
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
  onDeleted,
}: {
  conversation: Conversation;
  active: boolean;
  onSelect: () => void;
  onDeleted: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(conversation.title);
  const { rename, remove } = useChatStore.getState();
  // Where focus goes when the rename box closes: the (renamed) chat, or back to Rename.
  const [refocus, setRefocus] = useState<"title" | "rename" | null>(null);
  const titleButton = useRef<HTMLButtonElement>(null);
  const renameButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (editing || !refocus) return;
    (refocus === "title" ? titleButton : renameButton).current?.focus();
    setRefocus(null);
  }, [editing, refocus]);

  if (editing) {
    return (
      <li className="conversation editing">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (title.trim()) rename(conversation.id, title);
            setEditing(false);
            setRefocus("title");
          }}
        >
          <input
            aria-label={`New name for ${conversation.title}`}
            value={title}
            // biome-ignore lint/a11y/noAutofocus: the user just asked to rename this one
            autoFocus
            onChange={(e) => setTitle(e.target.value)}
            onKeyDown={(e) => {
              if (e.key !== "Escape") return;
              e.preventDefault(); // closes the rename box only, not the drawer
              setEditing(false);
              setRefocus("rename");
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
        ref={titleButton}
        aria-current={active ? "true" : undefined}
        onClick={onSelect}
      >
        {conversation.title}
      </button>
      <span className="conversation-actions">
        <button
          type="button"
          className="icon"
          ref={renameButton}
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
          onClick={async () => {
            if (!window.confirm(`Delete "${conversation.title}"? This cannot be undone.`)) return;
            await remove(conversation.id);
            onDeleted();
          }}
        >
          ×
        </button>
      </span>
    </li>
  );
}
