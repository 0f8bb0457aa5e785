/** The chat screen shell: the message list and the composer. */
export function ChatPanel() {
  return (
    <section className="chat-panel" aria-label="Chat">
      <ol className="messages" aria-live="polite">
        <li className="empty muted">Load a model to start chatting.</li>
      </ol>
      <form className="composer" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor="prompt" className="visually-hidden">
          Message
        </label>
        <textarea id="prompt" rows={2} placeholder="Message Trit…" disabled />
        <button type="submit" disabled>
          Send
        </button>
      </form>
    </section>
  );
}
