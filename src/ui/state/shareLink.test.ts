import { describe, expect, it } from "vitest";
import { buildShareLink, checkModelUrl, parseShareLink, withoutShareParams } from "./shareLink.ts";

const APP = "https://trit.example/app/";
const MODEL =
  "https://huggingface.co/microsoft/bitnet-b1.58-2B-4T-gguf/resolve/main/ggml-model-i2_s.gguf";

function linkWith(hash: string): string {
  return `${APP}#${hash}`;
}

describe("checkModelUrl", () => {
  it("accepts absolute http and https URLs", () => {
    expect(checkModelUrl(MODEL)).toEqual({ url: MODEL });
    expect(checkModelUrl("http://127.0.0.1:8080/m.gguf")).toEqual({
      url: "http://127.0.0.1:8080/m.gguf",
    });
  });
  it.each([
    ["javascript:alert(1)", 'not "javascript:"'],
    ["JavaScript:alert(1)", 'not "javascript:"'],
    ["data:text/html,<script>alert(1)</script>", 'not "data:"'],
    ["file:///etc/passwd", 'not "file:"'],
    ["blob:https://x/1", 'not "blob:"'],
    ["ftp://host/m.gguf", 'not "ftp:"'],
    ["/models/tiny.gguf", "not a valid absolute URL"],
    ["", "empty"],
    ["https://user:secret@host/m.gguf", "user name or password"],
  ])("refuses %s in words", (raw, words) => {
    const result = checkModelUrl(raw);
    expect("error" in result && result.error).toContain(words);
  });
});

describe("parseShareLink", () => {
  it("returns null when the address names no model", () => {
    expect(parseShareLink(APP)).toBeNull();
    expect(parseShareLink(`${APP}#prompt=hi`)).toBeNull();
    expect(parseShareLink("not a url")).toBeNull();
  });

  it("reads model, name, prompt and settings from the fragment", () => {
    const href = linkWith(
      `model=${encodeURIComponent(MODEL)}&name=BitNet&prompt=${encodeURIComponent("Hello\nthere")}&temperature=0.2&topK=10&seed=42`,
    );
    expect(parseShareLink(href)).toEqual({
      ok: true,
      request: {
        modelUrl: MODEL,
        name: "BitNet",
        prompt: "Hello\nthere",
        settings: { temperature: 0.2, topK: 10, seed: 42 },
        warnings: [],
      },
    });
  });

  it("also reads the query string", () => {
    const result = parseShareLink(`${APP}?model=${encodeURIComponent(MODEL)}`);
    expect(result?.ok && result.request.modelUrl).toBe(MODEL);
  });

  it("refuses a link whose model is not http(s)", () => {
    for (const bad of [
      "javascript:alert(document.cookie)",
      "data:application/octet-stream;base64,AAAA",
      "file:///m.gguf",
    ]) {
      const result = parseShareLink(linkWith(`model=${encodeURIComponent(bad)}`));
      expect(result?.ok).toBe(false);
      expect(result && !result.ok && result.error).toMatch(/Only http and https/);
    }
  });

  it("ignores bad settings with a warning and keeps the good ones", () => {
    const result = parseShareLink(
      linkWith(`model=${encodeURIComponent(MODEL)}&temperature=hot&topP=2&minP=0.1`),
    );
    expect(result?.ok).toBe(true);
    if (!result?.ok) return;
    expect(result.request.settings).toEqual({ minP: 0.1 });
    expect(result.request.warnings).toEqual([
      "Ignored from the link: Temperature must be a number.",
      "Ignored from the link: Top-p must be between 0 and 1.",
    ]);
  });

  it("keeps markup in names and prompts as the literal text it is, minus control characters", () => {
    const name = "<img src=x onerror=alert(1)>\u0000\u001b";
    const result = parseShareLink(
      linkWith(`model=${encodeURIComponent(MODEL)}&name=${encodeURIComponent(name)}`),
    );
    expect(result?.ok && result.request.name).toBe("<img src=x onerror=alert(1)>");
  });

  it("cuts an overlong prompt and says so", () => {
    const result = parseShareLink(
      linkWith(`model=${encodeURIComponent(MODEL)}&prompt=${"a".repeat(9000)}`),
    );
    expect(result?.ok && result.request.prompt?.length).toBe(8000);
    expect(result?.ok && result.request.warnings[0]).toMatch(/cut/);
  });
});

describe("buildShareLink", () => {
  it("round-trips through parseShareLink", () => {
    const href = buildShareLink(APP, {
      modelUrl: MODEL,
      name: "BitNet b1.58 2B4T",
      prompt: "Write a haiku & a limerick?",
      settings: { temperature: 0, maxTokens: 64 },
    });
    expect(href.startsWith(`${APP}#model=`)).toBe(true);
    expect(parseShareLink(href)).toEqual({
      ok: true,
      request: {
        modelUrl: MODEL,
        name: "BitNet b1.58 2B4T",
        prompt: "Write a haiku & a limerick?",
        settings: { temperature: 0, maxTokens: 64 },
        warnings: [],
      },
    });
  });
  it("refuses to share a non-http(s) model", () => {
    expect(() => buildShareLink(APP, { modelUrl: "javascript:alert(1)" })).toThrow(
      /Only http and https/,
    );
  });
  it("drops an existing fragment on the base", () => {
    const href = buildShareLink(`${APP}#old=1`, { modelUrl: MODEL });
    expect(href).toBe(`${APP}#model=${encodeURIComponent(MODEL)}`);
  });
});

describe("withoutShareParams", () => {
  it("removes the share fragment and share query parameters only", () => {
    expect(withoutShareParams(`${APP}#model=x&prompt=y`)).toBe(APP);
    expect(withoutShareParams(`${APP}?model=x&prompt=y&keep=1`)).toBe(`${APP}?keep=1`);
    expect(withoutShareParams(`${APP}#section`)).toBe(`${APP}#section`);
  });
});
