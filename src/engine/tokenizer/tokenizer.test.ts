import llama3TokenizerJs from "llama3-tokenizer-js";
import { beforeAll, describe, expect, it } from "vitest";
import { llama3TokenizerMetadata } from "../../../test-support/llama3-tokenizer-metadata.ts";
import { generatedDocuments, packageDocuments } from "../../../test-support/tokenizer-corpus.ts";
import { BYTE_TO_CHAR, tokenTextToBytes } from "./byte-level.ts";
import { Tokenizer } from "./tokenizer.ts";

/**
 * The independent truth: llama3-tokenizer-js (its own compressed copy of the Llama 3
 * vocabulary and merges, its own BPE). Its special-token list is Llama 3.1's, which
 * shares ids with Llama 3 for the specials used here.
 */
const reference = llama3TokenizerJs as unknown as {
  encode(text: string, opts: { bos: boolean; eos: boolean; specialTokenRegex?: RegExp }): number[];
};
const refEncode = (text: string) => reference.encode(text, { bos: false, eos: false });
/** The reference with special-token matching turned off: everything is plain text. */
const refEncodePlain = (text: string) =>
  reference.encode(text, { bos: false, eos: false, specialTokenRegex: /(?!)/g });

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

let tok: Tokenizer;
beforeAll(() => {
  tok = Tokenizer.fromGgufMetadata(llama3TokenizerMetadata());
});

describe("byte-level alphabet", () => {
  it("maps the 256 bytes to distinct characters, printable ones to themselves, space to Ġ", () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(BYTE_TO_CHAR[0x41]).toBe("A");
    expect(BYTE_TO_CHAR[0x20]).toBe("Ġ");
    expect(BYTE_TO_CHAR[0x0a]).toBe("Ċ");
    expect(BYTE_TO_CHAR[0x00]).toBe("\u0100");
    expect(tokenTextToBytes("Ġhi")).toEqual(new Uint8Array([0x20, 0x68, 0x69]));
    expect(tokenTextToBytes("<|x|>€")).toBeNull();
  });
});

describe("Tokenizer from GGUF metadata", () => {
  it("finds BOS, EOS, EOT and the stop tokens", () => {
    expect(tok.vocabSize).toBe(128256);
    expect(tok.tokenText(tok.bosId)).toBe("<|begin_of_text|>");
    expect(tok.tokenText(tok.eosId)).toBe("<|end_of_text|>");
    expect(tok.tokenText(tok.eotId)).toBe("<|eot_id|>");
    expect(tok.stopIds.has(128001)).toBe(true);
    expect(tok.stopIds.has(128009)).toBe(true);
    expect(tok.stopIds.has(128000)).toBe(false);
    expect(tok.addBosToken).toBe(true);
  });

  it("encodes whole pre-tokens straight from the vocabulary (derived by hand)", () => {
    const id = (text: string) =>
      (llama3TokenizerMetadata()["tokenizer.ggml.tokens"] as string[]).indexOf(text);
    // "Hello world!" splits into "Hello", " world", "!" and each is one vocabulary entry.
    expect(tok.encode("Hello world!")).toEqual([id("Hello"), id("Ġworld"), id("!")]);
    // Digits go in groups of at most three.
    expect(tok.encode("1234567")).toEqual([id("123"), id("456"), id("7")]);
    expect(tok.encode("Hi", { addBos: true })).toEqual([128000, id("Hi")]);
    expect(tok.encode("")).toEqual([]);
  });

  it("reads special-token text only with parseSpecial", () => {
    expect(tok.encode("<|eot_id|>", { parseSpecial: true })).toEqual([128009]);
    const plain = tok.encode("<|eot_id|>");
    expect(plain.length).toBeGreaterThan(1);
    expect(plain.every((id) => id < 128000)).toBe(true);
    expect(tok.decode(plain)).toBe("<|eot_id|>");
    expect(
      tok.encode("<|begin_of_text|>User: hi<|eot_id|>Assistant: ", { parseSpecial: true }),
    ).toEqual(refEncode("<|begin_of_text|>User: hi<|eot_id|>Assistant: "));
  });

  it("matches llama3-tokenizer-js on real multilingual text and code", () => {
    const docs = packageDocuments();
    const chars = docs.reduce((n, d) => n + d.text.length, 0);
    expect(chars).toBeGreaterThan(100_000);
    for (const { name, text } of docs) {
      const ids = tok.encode(text, { parseSpecial: true });
      expect(ids, name).toEqual(refEncode(text));
      expect(tok.decode(ids), name).toBe(text);
    }
  });

  it("matches llama3-tokenizer-js on generated text: emoji, scripts, whitespace, digits, specials", () => {
    const docs = generatedDocuments(80, 1, { specials: true });
    expect(docs.join("").length).toBeGreaterThan(60_000);
    for (const [i, text] of docs.entries()) {
      const ids = tok.encode(text, { parseSpecial: true });
      expect(ids, `document ${i}`).toEqual(refEncode(text));
      expect(tok.decode(ids)).toBe(text);
      const plain = tok.encode(text);
      expect(plain, `document ${i} as plain text`).toEqual(refEncodePlain(text));
      expect(tok.decode(plain)).toBe(text);
    }
  });

  it("round-trips edge cases exactly", () => {
    for (const text of [
      "\ufeffstarts with a byte order mark",
      " ",
      "\n",
      "   trailing   ",
      "\u0000\u0007\u001b[31m",
      "a\u0085b",
      "\uFFFD replacement char",
      "x".repeat(5000),
      "🫠".repeat(50),
    ]) {
      expect(tok.decode(tok.encode(text))).toBe(text);
      expect(tok.encode(text)).toEqual(refEncodePlain(text));
    }
  });

  it("decodes with or without control tokens", () => {
    const ids = tok.encode("<|begin_of_text|>Hi<|eot_id|>", { parseSpecial: true });
    expect(tok.decode(ids)).toBe("<|begin_of_text|>Hi<|eot_id|>");
    expect(tok.decode(ids, { skipSpecial: true })).toBe("Hi");
    expect(tok.isSpecial(128009)).toBe(true);
    expect(tok.isSpecial(ids[1])).toBe(false);
    expect(tok.decode([])).toBe("");
  });

  it("says in words when an id is outside the vocabulary", () => {
    expect(() => tok.decode([128256])).toThrow(/outside the vocabulary/);
    expect(() => tok.decode([-1])).toThrow(/outside the vocabulary/);
    expect(() => tok.decode([1.5])).toThrow(/outside the vocabulary/);
  });
});

describe("stream decoding", () => {
  it("emits only whole characters, piece by piece, adding up to decode()", () => {
    const docs = [
      ...generatedDocuments(20, 7, { specials: false }),
      "🇫🇷👨‍👩‍👧‍👦 日本語 \u{10FFFD}",
    ];
    let heldBack = 0;
    for (const text of docs) {
      const ids = tok.encode(text);
      const stream = tok.createStreamDecoder();
      let soFar = "";
      for (const id of ids) {
        const piece = stream.push(id);
        if (piece === "") heldBack++;
        expect(piece).not.toMatch(LONE_SURROGATE);
        expect(piece).not.toContain("\uFFFD");
        soFar += piece;
        expect(text.startsWith(soFar)).toBe(true);
      }
      soFar += stream.flush();
      expect(soFar).toBe(text);
    }
    // The sample really does split characters across tokens.
    expect(heldBack).toBeGreaterThan(20);
  });

  it("holds back a split character until it is complete, and flushes a broken one as U+FFFD", () => {
    const id = (text: string) =>
      (llama3TokenizerMetadata()["tokenizer.ggml.tokens"] as string[]).indexOf(text);
    // "€" is E2 82 AC; bytes alone are single-byte tokens spelt â (E2), Ĥ (82), ¬ (AC).
    const [e2, x82, xac] = [id("â"), id("Ĥ"), id("¬")];
    expect(tokenTextToBytes("Ĥ")).toEqual(new Uint8Array([0x82]));
    const stream = tok.createStreamDecoder();
    expect(stream.push(e2)).toBe("");
    expect(stream.push(x82)).toBe("");
    expect(stream.push(xac)).toBe("€");
    expect(stream.push(e2)).toBe("");
    expect(stream.flush()).toBe("\uFFFD");
    expect(stream.push(id("Hi"))).toBe("Hi");
  });

  it("gives control tokens no text unless asked to show them", () => {
    const ids = tok.encode("Hi<|eot_id|>", { parseSpecial: true });
    const hidden = tok.createStreamDecoder();
    expect(ids.map((i) => hidden.push(i)).join("")).toBe("Hi");
    const shown = tok.createStreamDecoder({ skipSpecial: false });
    expect(ids.map((i) => shown.push(i)).join("")).toBe("Hi<|eot_id|>");
  });
});

describe("metadata errors", () => {
  const base = () => ({ ...llama3TokenizerMetadata() }) as Record<string, unknown>;

  it("takes a file without tokenizer.ggml.pre (as published) as Llama 3", () => {
    const md = base();
    delete md["tokenizer.ggml.pre"];
    const t = Tokenizer.fromGgufMetadata(md);
    expect(t.encode("Hello 123 world's")).toEqual(tok.encode("Hello 123 world's"));
  });

  it("refuses other tokenizers and broken metadata in words", () => {
    expect(() =>
      Tokenizer.fromGgufMetadata({ ...base(), "tokenizer.ggml.model": "llama" }),
    ).toThrow(/Unsupported tokenizer "llama"/);
    expect(() => Tokenizer.fromGgufMetadata({ ...base(), "tokenizer.ggml.pre": "qwen2" })).toThrow(
      /Unsupported pre-tokenizer "qwen2"/,
    );
    const noTokens = base();
    delete noTokens["tokenizer.ggml.tokens"];
    expect(() => Tokenizer.fromGgufMetadata(noTokens)).toThrow(/no tokenizer.ggml.tokens/);
    expect(() =>
      Tokenizer.fromGgufMetadata({ ...base(), "tokenizer.ggml.token_type": [1, 1] }),
    ).toThrow(/token_type has 2 entries/);
    expect(() =>
      Tokenizer.fromGgufMetadata({ ...base(), "tokenizer.ggml.bos_token_id": 999999 }),
    ).toThrow(/outside the vocabulary/);
    expect(() => Tokenizer.fromGgufMetadata({})).toThrow(/Unsupported tokenizer "\(none\)"/);
  });
});
