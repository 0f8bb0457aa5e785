import { describe, expect, it } from "vitest";
import { expandSplitUrls, modelNameFromUrls } from "./split-urls.ts";

describe("expandSplitUrls", () => {
  it("expands one shard URL of a split set to every shard, in order, keeping the query", () => {
    expect(
      expandSplitUrls(["https://h.example/m/Model-Q2-00002-of-00003.gguf?download=1"]),
    ).toEqual([
      "https://h.example/m/Model-Q2-00001-of-00003.gguf?download=1",
      "https://h.example/m/Model-Q2-00002-of-00003.gguf?download=1",
      "https://h.example/m/Model-Q2-00003-of-00003.gguf?download=1",
    ]);
  });

  it("keeps a single plain URL and an explicit list as they are", () => {
    expect(expandSplitUrls(["https://h.example/a.gguf"])).toEqual(["https://h.example/a.gguf"]);
    expect(expandSplitUrls(["http://x/b.gguf", "http://x/a.gguf"])).toEqual([
      "http://x/b.gguf",
      "http://x/a.gguf",
    ]);
  });

  it("refuses what cannot be downloaded, in words", () => {
    expect(() => expandSplitUrls([])).toThrow(/No URL/);
    expect(() => expandSplitUrls(["not a url"])).toThrow(/not a valid URL/);
    expect(() => expandSplitUrls(["file:///etc/passwd"])).toThrow(/not an http/);
    expect(() => expandSplitUrls(["https://h/x-00004-of-00003.gguf"])).toThrow(/cannot exist/);
  });
});

describe("modelNameFromUrls", () => {
  it("names a model by its file, a split set by its base name and part count", () => {
    expect(modelNameFromUrls(["https://h/dir/ggml%20model.gguf"])).toBe("ggml model.gguf");
    expect(modelNameFromUrls(expandSplitUrls(["https://h/m-00001-of-00002.gguf"]))).toBe(
      "m.gguf (2 parts)",
    );
  });
});
