import type { ComponentProps } from "react";

/**
 * A markdown image in model output, drawn as a link to it rather than loaded: rendering
 * a reply must not contact anyone (an image URL can carry what was said in the chat).
 * Following the link is the user's choice, in a new tab.
 */
export function MarkdownImage({
  node: _node,
  src,
  alt,
}: ComponentProps<"img"> & { node?: unknown }) {
  const label = alt?.trim() || "image";
  const url = typeof src === "string" ? src : "";
  let host = "";
  try {
    host = url ? new URL(url, "http://invalid/").host : "";
  } catch {
    host = "";
  }
  if (!/^https?:/i.test(url)) {
    return <span className="md-image blocked">[Image: {label}]</span>;
  }
  return (
    <a
      className="md-image"
      href={url}
      target="_blank"
      rel="noopener noreferrer nofollow"
      referrerPolicy="no-referrer"
      title={`Not loaded: opens ${url} in a new tab`}
    >
      [Image: {label}
      {host ? ` · ${host}` : ""}]
    </a>
  );
}
