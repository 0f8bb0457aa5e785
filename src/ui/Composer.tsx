import { useEffect, useRef } from "react";
import { focusIsLost } from "./focus.ts";
import { useChatStore } from "./state/chatStore.ts";
import { useModelManagerStore } from "./state/modelManagerStore.ts";

/** The message box: Enter sends, Shift+Enter makes a new line, Esc stops a reply. */
export function Composer() {
  const draft = useChatStore((s) => s.draft);
  const generating = useChatStore((s) => s.generation !== null);
  const ready = useModelManagerStore((s) => s.loaded !== null && s.loading === null);
  const { send, setDraft, stop } = useChatStore.getState();
  const box = useRef<HTMLTextAreaElement>(null);
  // When a model becomes ready (the button that started it is gone), type here next.
  useEffect(() => {
    if (ready && focusIsLost()) box.current?.focus();
  }, [ready]);

  const submit = () => {
    if (!generating && draft.trim()) void send(draft);
  };

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <label htmlFor="prompt" className="visually-hidden">
        Message
      </label>
      <textarea
        id="prompt"
        ref={box}
        rows={2}
        placeholder={
          ready
            ? "Message Trit… (Enter sends, Shift+Enter new line)"
            : "Load a model to start chatting"
        }
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            submit();
          } else if (e.key === "Escape" && generating) {
            e.preventDefault();
            void stop();
          }
        }}
      />
      {generating ? (
        <button type="button" className="stop" onClick={() => void stop()}>
          Stop
        </button>
      ) : (
        <button type="submit" className="primary" disabled={!ready || !draft.trim()}>
          Send
        </button>
      )}
    </form>
  );
}
