/** An error in words, with a button to dismiss it. */
export function ErrorAlert({
  message,
  onDismiss,
  className = "",
}: {
  message: string;
  onDismiss: () => void;
  className?: string;
}) {
  return (
    <div role="alert" className={`error alert ${className}`.trim()}>
      <span>{message}</span>
      <button type="button" className="icon" aria-label="Dismiss the error" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}
