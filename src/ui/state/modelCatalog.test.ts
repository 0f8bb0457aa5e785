import { describe, expect, it } from "vitest";
import type { StoredModel } from "../../worker/api.ts";
import { DEMO_MODEL, entryUrl, friendlyModelName, PUBLISHED_MODEL } from "./modelCatalog.ts";

const stored = (id: string, name: string, urls: string[]): StoredModel => ({
  id,
  name,
  urls,
  totalBytes: 1,
  storedBytes: 1,
  state: "ready",
});

describe("friendlyModelName", () => {
  const base = "https://trit.example/app/";
  const models = [
    stored("a", "ggml-model-i2_s.gguf", [PUBLISHED_MODEL.url]),
    stored("b", "trit-demo-brown-i2_s.gguf", [entryUrl(DEMO_MODEL, base)]),
    stored("c", "my-own.gguf", []),
  ];
  it("uses the catalog's name for catalog models, the file name for others", () => {
    expect(friendlyModelName("a", models, base)).toBe("BitNet b1.58 2B4T");
    expect(friendlyModelName("b", models, base)).toBe(DEMO_MODEL.name);
    expect(friendlyModelName("c", models, base)).toBe("my-own.gguf");
    expect(friendlyModelName("gone", models, base)).toBe("gone");
  });
});
