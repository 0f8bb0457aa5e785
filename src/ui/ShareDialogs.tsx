import { type ReactNode, useEffect, useRef, useState } from "react";
import { useChatStore } from "./state/chatStore.ts";
import { formatBytes } from "./state/format.ts";
import { useModelManagerStore } from "./state/modelManagerStore.ts";
import { buildShareLink } from "./state/shareLink.ts";

/** A modal <dialog> (focus trapped by the browser, Esc closes it). */
function Modal({
  labelId,
  onClose,
  children,
}: {
  labelId: string;
  onClose: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} className="modal" aria-labelledby={labelId} onClose={onClose}>
      {children}
    </dialog>
  );
}

/**
 * A share link asks before anything downloads: it shows where the model comes from and
 * how big it is. Everything from the link is rendered as text.
 */
export function ShareConsentDialog() {
  const pending = useModelManagerStore((s) => s.pendingShare);
  const shareError = useModelManagerStore((s) => s.shareError);
  const { acceptShare, dismissShare } = useModelManagerStore.getState();

  if (shareError) {
    return (
      <Modal labelId="share-refused-heading" onClose={dismissShare}>
        <h2 id="share-refused-heading">Share link not opened</h2>
        <p>{shareError}</p>
        <div className="dialog-actions">
          <button type="button" className="primary" onClick={dismissShare}>
            OK
          </button>
        </div>
      </Modal>
    );
  }
  if (!pending) return null;
  const host = new URL(pending.modelUrl).host;
  return (
    <Modal labelId="share-heading" onClose={dismissShare}>
      <h2 id="share-heading">Open a shared model?</h2>
      <p>This link asks Trit to {pending.storedModelId ? "load" : "download and load"} a model.</p>
      <dl className="facts share-facts">
        {pending.name && (
          <>
            <dt>Name</dt>
            <dd data-testid="share-name">{pending.name}</dd>
          </>
        )}
        <dt>From</dt>
        <dd>
          <strong data-testid="share-host">{host}</strong>
          <br />
          <span className="source small" data-testid="share-url">
            {pending.modelUrl}
          </span>
        </dd>
        <dt>Size</dt>
        <dd data-testid="share-size">
          {pending.storedModelId
            ? "already stored in this browser: nothing to download"
            : pending.sizeBytes
              ? `${pending.sizeApproximate ? "≈ " : ""}${formatBytes(pending.sizeBytes)}`
              : "unknown until the download starts"}
        </dd>
        {pending.prompt && (
          <>
            <dt>First prompt</dt>
            <dd className="plain">{pending.prompt}</dd>
          </>
        )}
        {Object.keys(pending.settings).length > 0 && (
          <>
            <dt>Settings</dt>
            <dd>
              {Object.entries(pending.settings)
                .map(([k, v]) => `${k} ${v}`)
                .join(", ")}
            </dd>
          </>
        )}
      </dl>
      {pending.warnings.map((w) => (
        <p key={w} className="note small">
          {w}
        </p>
      ))}
      <p className="muted small">Only continue if you trust where this file comes from.</p>
      <div className="dialog-actions">
        <button type="button" onClick={dismissShare}>
          Not now
        </button>
        <button type="button" className="primary" onClick={() => void acceptShare()}>
          {pending.storedModelId ? "Load and open" : "Download and open"}
        </button>
      </div>
    </Modal>
  );
}

/** Makes a share link for the loaded model, the current draft (or first message) and settings. */
export function ShareButton() {
  const [link, setLink] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const loaded = useModelManagerStore((s) => s.loaded);
  const models = useModelManagerStore((s) => s.models);
  const model = models.find((m) => m.id === loaded?.modelId);
  const url = model?.urls[0];

  const open = () => {
    const chat = useChatStore.getState();
    const conversation = chat.conversations.find((c) => c.id === chat.activeId);
    const prompt =
      chat.draft.trim() || conversation?.messages.find((m) => m.role === "user")?.content;
    try {
      setLink(
        buildShareLink(document.baseURI, {
          modelUrl: url as string,
          name: model?.name,
          prompt,
          settings: conversation?.settings,
        }),
      );
      setMessage(null);
    } catch (err) {
      setLink(null);
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <>
      <button
        type="button"
        onClick={open}
        disabled={!url}
        title={
          url
            ? "Make a link that opens Trit with this model and prompt"
            : model
              ? "A model added from a file has no URL to share"
              : "Load a model to share it"
        }
      >
        Share
      </button>
      {(link || message) && (
        <Modal
          labelId="share-link-heading"
          onClose={() => {
            setLink(null);
            setMessage(null);
          }}
        >
          <h2 id="share-link-heading">Share this model</h2>
          {link && (
            <>
              <p className="muted small">
                Whoever opens this link sees the model's source and size and is asked before
                anything downloads.
              </p>
              <label className="field">
                <span>Link</span>
                <textarea readOnly rows={4} value={link} onFocus={(e) => e.target.select()} />
              </label>
            </>
          )}
          {message && (
            <p className={link ? "note small" : "error"} role="status">
              {message}
            </p>
          )}
          <div className="dialog-actions">
            {link && (
              <button
                type="button"
                className="primary"
                onClick={async () => {
                  try {
                    await navigator.clipboard.writeText(link);
                    setMessage("Link copied.");
                  } catch {
                    setMessage(
                      "Copying was not allowed here; select the link and copy it by hand.",
                    );
                  }
                }}
              >
                Copy link
              </button>
            )}
            <button
              type="button"
              onClick={() => {
                setLink(null);
                setMessage(null);
              }}
            >
              Close
            </button>
          </div>
        </Modal>
      )}
    </>
  );
}
