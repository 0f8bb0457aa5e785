import { useEffect, useRef, useState } from "react";
import { copyText } from "./clipboard.ts";
import { focusComposer } from "./focus.ts";
import { Markdown } from "./Markdown.tsx";
import { useChatStore } from "./state/chatStore.ts";
import type { Message } from "./state/conversations.ts";
import { formatTokensPerSecond } from "./state/format.ts";

/** One message: markdown for replies, plain text for the user's; copy, edit, regenerate. */
export function MessageItem({
  message,
  isLast,
  busy,
}: {
  message: Message;
  isLast: boolean;
  busy: boolean;
}) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(message.content);
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  const { editAndResend, regenerate } = useChatStore.getState();
  const who = message.role === "user" ? "You" : "Trit";
  // Edit opens the edit box with focus in it; Cancel returns to the Edit button.
  const editBox = useRef<HTMLTextAreaElement>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const [refocus, setRefocus] = useState(false);
  useEffect(() => {
    if (editing) editBox.current?.focus();
    else if (refocus) {
      editButton.current?.focus();
      setRefocus(false);
    }
  }, [editing, refocus]);
  const cancelEdit = () => {
    setEditing(false);
    setRefocus(true);
  };

  if (editing) {
    return (
      <li className="message user editing">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setEditing(false);
            focusComposer();
            void editAndResend(message.id, text);
          }}
        >
          <label className="visually-hidden" htmlFor={`edit-${message.id}`}>
            Edit message
          </label>
          <textarea
            id={`edit-${message.id}`}
            ref={editBox}
            value={text}
            rows={Math.min(10, text.split("\n").length + 1)}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key !== "Escape") return;
              e.preventDefault();
              cancelEdit();
            }}
          />
          <div className="message-actions">
            <button type="submit" className="primary" disabled={busy || !text.trim()}>
              Save and send
            </button>
            <button type="button" onClick={cancelEdit}>
              Cancel
            </button>
          </div>
        </form>
      </li>
    );
  }

  const streaming = message.status === "streaming";
  return (
    <li className={`message ${message.role}`} aria-busy={streaming}>
      <div className="message-who">{who}</div>
      <div className="message-body">
        {message.role === "user" ? (
          <p className="plain">{message.content}</p>
        ) : message.content ? (
          <Markdown text={message.content} />
        ) : streaming ? (
          <p className="muted">Thinking…</p>
        ) : null}
        {streaming && message.content && <span className="caret" aria-hidden="true" />}
        {message.status === "stopped" && <p className="note">Stopped.</p>}
        {message.status === "failed" && (
          <p className="error" role="alert">
            {message.error}
          </p>
        )}
      </div>
      {!streaming && (
        <div className="message-actions">
          {message.stats && (
            <span className="muted small">
              {message.stats.generatedTokens} tokens ·{" "}
              {formatTokensPerSecond(message.stats.decodeTokensPerSecond)}
            </span>
          )}
          <button
            type="button"
            className="small-button"
            aria-label={`Copy ${message.role === "user" ? "your message" : "reply"}`}
            onClick={async () => {
              setCopied((await copyText(message.content)) ? "yes" : "no");
              setTimeout(() => setCopied(null), 1500);
            }}
          >
            {copied === "yes" ? "Copied" : copied === "no" ? "Copy failed" : "Copy"}
          </button>
          {message.role === "user" && (
            <button
              type="button"
              className="small-button"
              ref={editButton}
              aria-label="Edit this message and continue from here"
              disabled={busy}
              onClick={() => {
                setText(message.content);
                setEditing(true);
              }}
            >
              Edit
            </button>
          )}
          {message.role === "assistant" && isLast && (
            <button
              type="button"
              className="small-button"
              aria-label="Regenerate this reply"
              disabled={busy}
              onClick={() => void regenerate()}
            >
              Regenerate
            </button>
          )}
        </div>
      )}
    </li>
  );
}
