import ReactMarkdown from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import rehypeSanitize from "rehype-sanitize";
import { MarkdownImage } from "./MarkdownImage.tsx";

interface MdNode {
  type: string;
  children?: MdNode[];
}

/** Raw HTML in model output is shown as the text it is, rather than dropped or parsed. */
function remarkHtmlAsText() {
  const visit = (node: MdNode) => {
    if (node.type === "html") node.type = "text";
    node.children?.forEach(visit);
  };
  return visit;
}

/**
 * Model output as markdown. Raw HTML is never parsed (no rehype-raw), the tree is
 * sanitized, and only then highlighted, so neither the model nor a link can run script.
 */
export function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={[remarkHtmlAsText]}
        rehypePlugins={[rehypeSanitize, [rehypeHighlight, { detect: false }]]}
        components={{
          a: ({ node: _node, ...props }) => (
            <a {...props} target="_blank" rel="noopener noreferrer" />
          ),
          img: MarkdownImage,
        }}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
}
