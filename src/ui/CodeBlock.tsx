import { type ReactNode, useState } from "react";
import { copyText } from "./clipboard.ts";

/** The part of a hast node a code block needs (react-markdown passes the `pre` element). */
interface HastNode {
  type: string;
  tagName?: string;
  value?: string;
  properties?: { className?: unknown };
  children?: HastNode[];
}

function textOf(node: HastNode): string {
  if (node.type === "text") return node.value ?? "";
  return (node.children ?? []).map(textOf).join("");
}

/** The language a fenced block names (```js), from its code element's language-* class. */
export function codeLanguage(pre: HastNode | undefined): string | null {
  const code = pre?.children?.find((c) => c.tagName === "code");
  const classes = code?.properties?.className;
  const list = Array.isArray(classes) ? classes : [];
  const language = list.find((c) => typeof c === "string" && c.startsWith("language-"));
  return typeof language === "string" ? language.slice("language-".length) : null;
}

/** A fenced code block: its language, a copy button for the code as written, then the code. */
export function CodeBlock({ node, children }: { node?: HastNode; children: ReactNode }) {
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  const language = codeLanguage(node);
  const code = node ? textOf(node).replace(/\n$/, "") : "";
  return (
    <div className="code-block">
      <div className="code-head">
        <span className="code-language">{language ?? "text"}</span>
        <button
          type="button"
          className="small-button"
          aria-label={`Copy ${language ?? "the"} code`}
          onClick={async () => {
            setCopied((await copyText(code)) ? "yes" : "no");
            setTimeout(() => setCopied(null), 1500);
          }}
        >
          {copied === "yes" ? "Copied" : copied === "no" ? "Copy failed" : "Copy"}
        </button>
      </div>
      <pre>{children}</pre>
    </div>
  );
}
