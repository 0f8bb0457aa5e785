/** Where keyboard focus goes when the control that had it goes away. */

/** The message box: the next sensible place after starting a chat or a model. */
export function focusComposer(): void {
  document.getElementById("prompt")?.focus();
}

/** True when nothing in particular has focus (it fell to the page body). */
export function focusIsLost(): boolean {
  const active = document.activeElement;
  return active === null || active === document.body;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';

/** The controls inside `root` that Tab can reach now, in order. */
export function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) =>
    typeof el.checkVisibility === "function"
      ? el.checkVisibility({ visibilityProperty: true })
      : el.getClientRects().length > 0,
  );
}
