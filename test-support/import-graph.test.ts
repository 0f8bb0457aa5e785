import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkImportGraph, importSpecifiers, readSources } from "./import-graph.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("import graph", () => {
  it("src/ follows the allowed dependency directions", () => {
    const files = readSources(root, ["src"]);
    expect(files.size).toBeGreaterThan(100);
    expect(checkImportGraph(files)).toEqual([]);
  });

  it("reports each kind of forbidden import added to a copy of the tree", () => {
    const files = readSources(root, ["src"]);
    const forward = "src/engine/reference/forward.ts";
    const sampler = "src/engine/sampling/sampler.ts";
    const store = "src/ui/state/chatStore.ts";
    const worker = "src/worker/engine.worker.ts";
    const add = (file: string, line: string) => files.set(file, `${line}\n${files.get(file)}`);
    add(forward, 'import type { ChatMessage } from "../../worker/api.ts";');
    add(
      sampler,
      'import { llama3TokenizerMetadata } from "../../../test-support/llama3-tokenizer-metadata.ts";',
    );
    add(store, 'import { Tokenizer } from "../../engine/tokenizer/tokenizer.ts";');
    add(worker, 'import { create } from "zustand";');
    add("src/engine/gguf/parser.ts", 'import type { BitNetConfig } from "../bitnet/config.ts";');
    const found = checkImportGraph(files).map((v) => `${v.file}: ${v.why}`);
    expect(found).toEqual(
      expect.arrayContaining([
        `${forward}: reference must not import worker`,
        `${sampler}: product code must not import test-support/`,
        `${store}: ui must not import tokenizer`,
        `${worker}: worker must not use zustand`,
        "src/engine/gguf/parser.ts: gguf must not import bitnet",
      ]),
    );
    expect(found).toHaveLength(5);
  });

  it("reads static, dynamic, re-export and worker-URL specifiers", () => {
    const src = `import a from "./a.ts";
import type { B } from "../b.ts";
export { c } from "./c.ts";
import "./side-effect.ts";
const d = await import("./d.ts");
new Worker(new URL("./e.js", import.meta.url));`;
    expect(importSpecifiers(src).sort()).toEqual(
      ["../b.ts", "./a.ts", "./c.ts", "./d.ts", "./e.js", "./side-effect.ts"].sort(),
    );
  });
});
