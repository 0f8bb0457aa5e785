import ReactMarkdown from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import rehypeSanitize from "rehype-sanitize";
import remarkGfm from "remark-gfm";
import { CodeBlock } from "./CodeBlock.tsx";
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
 * Model output as markdown, GitHub-flavoured (tables, strikethrough, task lists, autolinks)
 * as models write it. Raw HTML is never parsed (no rehype-raw), the tree is sanitized, and
 * only then highlighted, so neither the model nor a link can run script.
 */
export function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={[remarkGfm, remarkHtmlAsText]}
        rehypePlugins={[rehypeSanitize, [rehypeHighlight, { detect: false }]]}
        components={{
          a: ({ node: _node, ...props }) => (
            <a {...props} target="_blank" rel="noopener noreferrer" />
          ),
          pre: ({ node, children }) => <CodeBlock node={node}>{children}</CodeBlock>,
          // A wide table scrolls on its own instead of widening the page.
          table: ({ node: _node, ...props }) => (
            <div className="table-scroll">
              <table {...props} />
            </div>
          ),
          // Task list boxes are read-only marks; say what they mean.
          input: ({ node: _node, ...props }) =>
            props.type === "checkbox" ? (
              <input {...props} aria-label={props.checked ? "Done" : "Not done"} />
            ) : (
              <input {...props} />
            ),
          img: MarkdownImage,
        }}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
}
