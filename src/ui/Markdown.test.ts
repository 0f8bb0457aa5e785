import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { Markdown } from "./Markdown.tsx";

const render = (text: string) => renderToStaticMarkup(createElement(Markdown, { text }));

describe("Markdown (model output)", () => {
  it("renders markdown and highlights fenced code", () => {
    const html = render("**bold** and `x`\n\n```js\nconst a = 1;\n```");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toContain("<code>x</code>");
    expect(html).toMatch(
      /<code class="hljs language-js">.*<span class="hljs-keyword">const<\/span>/s,
    );
  });

  it("shows raw HTML from the model as text, never as elements", () => {
    const html = render('<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">');
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain("&lt;script&gt;");
  });

  it("drops javascript: and data: link targets", () => {
    const html = render(
      "[click](javascript:alert(1)) [img](data:text/html,hi) [ok](https://example.com)",
    );
    expect(html).not.toMatch(/javascript:|data:text/i);
    expect(html).toContain('href="https://example.com"');
    expect(html).toContain('rel="noopener noreferrer"');
  });

  it("renders GitHub-flavoured tables, strikethrough and task lists", () => {
    const html = render(
      "| a | b |\n|---|:-:|\n| 1 | **2** |\n\n~~gone~~\n\n- [x] done\n- [ ] todo",
    );
    expect(html).toMatch(
      /<table>\s*<thead>\s*<tr>\s*<th>a<\/th>\s*<th style="text-align:center">b<\/th>/,
    );
    expect(html).toMatch(
      /<tbody>\s*<tr>\s*<td>1<\/td>\s*<td style="text-align:center"><strong>2<\/strong><\/td>/,
    );
    expect(html).toContain("<del>gone</del>");
    expect(html).toMatch(/<input type="checkbox" disabled="" aria-label="Done" checked=""\/> done/);
    expect(html).toMatch(/<input type="checkbox" disabled="" aria-label="Not done"\/> todo/);
  });

  it("gives a fenced block its language and a copy button, and keeps HTML in tables as text", () => {
    const html = render("```python\nprint(1)\n```\n\n| x |\n|---|\n| <b>y</b> |");
    expect(html).toContain('<span class="code-language">python</span>');
    expect(html).toContain('aria-label="Copy python code"');
    expect(html).toMatch(/<td>&lt;b&gt;y&lt;\/b&gt;<\/td>/);
    expect(html).not.toMatch(/<b>/);
  });

  it("never loads an image: remote images become links that say where they point", () => {
    const html = render(
      "![a pixel](https://tracker.example/pixel.png?leak=SECRET) and ![](http://x.example/y.png)",
    );
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('href="https://tracker.example/pixel.png?leak=SECRET"');
    expect(html).toContain("[Image: a pixel · tracker.example]");
    expect(html).toContain("[Image: image · x.example]");
    expect(html).toMatch(/target="_blank" rel="noopener noreferrer nofollow"/);
    // not a web address (the sanitizer already dropped it): just the words
    expect(render("![local](file:///etc/passwd)")).toBe(
      '<div class="markdown"><p><span class="md-image blocked">[Image: local]</span></p></div>',
    );
  });
});
