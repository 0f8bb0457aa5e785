/**
 * The Llama 3 tokenizer (byte-level BPE, tiktoken-style pre-tokenizer, 256 special
 * tokens) built from a GGUF file's tokenizer metadata. Encoding runs on
 * @huggingface/tokenizers, fed a tokenizer.json assembled from the metadata; decoding
 * is byte-level here, so it can also stream.
 */
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { tokenTextToBytes } from "./byte-level.ts";

/** Llama 3's pre-tokenizer split (tiktoken's cl100k pattern with digits in groups of up to 3). */
export const LLAMA3_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** `tokenizer.ggml.pre` values that name Llama 3's pre-tokenizer. */
const LLAMA3_PRE_NAMES = new Set(["llama-bpe", "llama3", "llama-v3"]);

/** GGUF token types (llama.cpp's llama_token_type). */
export const TokenType = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

export interface EncodeOptions {
  /** Put the BOS token first (default false). */
  addBos?: boolean;
  /**
   * Read special-token text such as "<|eot_id|>" in the input as that one token
   * (default false: it is ordinary text and splits into several tokens).
   */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /**
   * Leave control tokens (<|eot_id|>, …) out of the text. Default: false for decode()
   * (written as their text, so decode inverts encode), true for the stream decoder
   * (it feeds the chat, where llama.cpp's server also prints them as nothing).
   */
  skipSpecial?: boolean;
}

export interface StreamDecoder {
  /** Adds one token; returns the text it completes (may be "" while a character is unfinished). */
  push(id: number): string;
  /** Returns what is left (an unfinished character becomes U+FFFD) and resets. */
  flush(): string;
}

function stringOf(metadata: Record<string, unknown>, key: string): string | undefined {
  const v = metadata[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new Error(`GGUF metadata ${key} should be a string.`);
  return v;
}

function idOf(metadata: Record<string, unknown>, key: string): number | undefined {
  const v = metadata[key];
  if (v === undefined) return undefined;
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    throw new Error(`GGUF metadata ${key} should be a token id, got ${String(v)}.`);
  }
  return n;
}

function arrayOf<T>(metadata: Record<string, unknown>, key: string, kind: string): ArrayLike<T> {
  const v = metadata[key];
  if (v === undefined) throw new Error(`The GGUF file has no ${key}: it carries no tokenizer.`);
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) {
    throw new Error(`GGUF metadata ${key} should be an array of ${kind}.`);
  }
  return v as unknown as ArrayLike<T>;
}

export class Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  /** End of a chat turn (<|eot_id|>); the EOS id when the vocabulary has none. */
  readonly eotId: number;
  /** Tokens that end generation: EOS, EOT and the other end-of-text tokens llama.cpp knows. */
  readonly stopIds: Set<number>;
  /** What the file says about adding BOS (`tokenizer.ggml.add_bos_token`, default true). */
  readonly addBosToken: boolean;

  private readonly texts: string[];
  private readonly types: Int32Array;
  /** UTF-8 bytes of each token, filled on first use. */
  private readonly bytesCache: (Uint8Array | undefined)[];
  private readonly hf: HfTokenizer;

  private constructor(
    texts: string[],
    types: Int32Array,
    hf: HfTokenizer,
    ids: { bos: number; eos: number; eot: number; stop: Set<number> },
    addBosToken: boolean,
  ) {
    this.texts = texts;
    this.types = types;
    this.hf = hf;
    this.vocabSize = texts.length;
    this.bytesCache = new Array(texts.length);
    this.bosId = ids.bos;
    this.eosId = ids.eos;
    this.eotId = ids.eot;
    this.stopIds = ids.stop;
    this.addBosToken = addBosToken;
  }

  /**
   * Builds the tokenizer from GGUF metadata (`tokenizer.ggml.*` keys, values as plain
   * strings, numbers and arrays). Only Llama 3's BPE is supported: model "gpt2" with
   * pre-tokenizer "llama-bpe". A file without `tokenizer.ggml.pre` whose vocabulary
   * has <|begin_of_text|> (the published 2B4T file is one) is taken as Llama 3.
   */
  static fromGgufMetadata(metadata: Record<string, unknown>): Tokenizer {
    const model = stringOf(metadata, "tokenizer.ggml.model");
    if (model !== "gpt2") {
      throw new Error(
        `Unsupported tokenizer "${model ?? "(none)"}": only byte-level BPE ("gpt2", as Llama 3 uses) is supported.`,
      );
    }
    const texts = Array.from(arrayOf<string>(metadata, "tokenizer.ggml.tokens", "strings"));
    if (texts.length === 0) throw new Error("The GGUF tokenizer has an empty vocabulary.");
    const rawTypes = metadata["tokenizer.ggml.token_type"];
    const types = new Int32Array(texts.length).fill(TokenType.normal);
    if (rawTypes !== undefined) {
      const t = arrayOf<number>(metadata, "tokenizer.ggml.token_type", "integers");
      if (t.length !== texts.length) {
        throw new Error(
          `tokenizer.ggml.token_type has ${t.length} entries for ${texts.length} tokens.`,
        );
      }
      for (let i = 0; i < t.length; i++) types[i] = Number(t[i]);
    }
    const merges = Array.from(arrayOf<string>(metadata, "tokenizer.ggml.merges", "strings"));

    const pre = stringOf(metadata, "tokenizer.ggml.pre");
    const hasLlama3Specials = texts.includes("<|begin_of_text|>");
    const isLlama3 =
      pre === undefined || pre === "default" ? hasLlama3Specials : LLAMA3_PRE_NAMES.has(pre);
    if (!isLlama3) {
      throw new Error(
        `Unsupported pre-tokenizer "${pre ?? "(none)"}": only Llama 3's ("llama-bpe") is supported.`,
      );
    }

    const find = (text: string) => {
      const i = texts.indexOf(text);
      return i < 0 ? undefined : i;
    };
    const inRange = (key: string, id: number | undefined) => {
      if (id !== undefined && id >= texts.length) {
        throw new Error(`${key} is ${id}, outside the vocabulary of ${texts.length} tokens.`);
      }
      return id;
    };
    const bos =
      inRange("tokenizer.ggml.bos_token_id", idOf(metadata, "tokenizer.ggml.bos_token_id")) ??
      find("<|begin_of_text|>");
    const eos =
      inRange("tokenizer.ggml.eos_token_id", idOf(metadata, "tokenizer.ggml.eos_token_id")) ??
      find("<|end_of_text|>");
    if (bos === undefined || eos === undefined) {
      throw new Error("The GGUF tokenizer names no BOS or EOS token and has no Llama 3 specials.");
    }
    const eot =
      inRange("tokenizer.ggml.eot_token_id", idOf(metadata, "tokenizer.ggml.eot_token_id")) ??
      find("<|eot_id|>") ??
      eos;
    const stop = new Set([eos, eot]);
    const eom =
      inRange("tokenizer.ggml.eom_token_id", idOf(metadata, "tokenizer.ggml.eom_token_id")) ??
      find("<|eom_id|>");
    if (eom !== undefined) stop.add(eom);
    const endOfText = find("<|end_of_text|>");
    if (endOfText !== undefined) stop.add(endOfText);

    const addBosRaw = metadata["tokenizer.ggml.add_bos_token"];
    const addBosToken = addBosRaw === undefined ? true : Boolean(addBosRaw);

    // The tokenizer.json @huggingface/tokenizers expects: normal tokens in the BPE vocab,
    // control / user-defined tokens as added tokens (matched whole in the input).
    const vocab: Record<string, number> = Object.create(null);
    const added: object[] = [];
    for (let id = 0; id < texts.length; id++) {
      const type = types[id];
      if (type === TokenType.control || type === TokenType.userDefined) {
        added.push({
          id,
          content: texts[id],
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: false,
          special: type === TokenType.control,
        });
      } else {
        vocab[texts[id]] = id;
      }
    }
    const json = {
      normalizer: null,
      pre_tokenizer: {
        type: "Sequence",
        pretokenizers: [
          {
            type: "Split",
            pattern: { Regex: LLAMA3_SPLIT_PATTERN },
            behavior: "Isolated",
            invert: false,
          },
          { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      },
      post_processor: null,
      decoder: null,
      added_tokens: added,
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        // Llama 3 takes a whole pre-token straight from the vocabulary when it is there.
        ignore_merges: true,
        vocab,
        // the ranks are built on first use (lazyMergeRanks)
        merges: [],
      },
    };
    const hf = new HfTokenizer(json, { clean_up_tokenization_spaces: false });
    (hf as unknown as { model: { bpe_ranks: unknown } }).model.bpe_ranks = lazyMergeRanks(merges);
    return new Tokenizer(texts, types, hf, { bos, eos, eot, stop }, addBosToken);
  }

  /** Token ids of `text`. Lone UTF-16 surrogates cannot be encoded and become U+FFFD. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new Error("encode needs a string.");
    let pieces: string[];
    if (opts.parseSpecial) {
      pieces = this.hf.tokenize(text, { add_special_tokens: false });
    } else {
      // Bypass the added-token matching: pre-tokenize and run BPE on the whole text.
      const hf = this.hf as unknown as {
        pre_tokenizer: (t: string, o: object) => string[];
        model: (p: string[]) => string[];
      };
      pieces = text === "" ? [] : hf.model(hf.pre_tokenizer(text, { section_index: 0 }));
    }
    const ids = new Array<number>(pieces.length + (opts.addBos ? 1 : 0));
    let k = 0;
    if (opts.addBos) ids[k++] = this.bosId;
    for (const piece of pieces) {
      const id = this.hf.token_to_id(piece) ?? this.specialId(piece);
      if (id === undefined) throw new Error(`Internal error: no id for token "${piece}".`);
      ids[k++] = id;
    }
    return ids;
  }

  private specialIds?: Map<string, number>;

  private specialId(text: string): number | undefined {
    if (!this.specialIds) {
      this.specialIds = new Map();
      for (const [id, token] of this.hf.get_added_tokens_decoder()) {
        this.specialIds.set(token.content, id);
      }
    }
    return this.specialIds.get(text);
  }

  /** The text of a token as the vocabulary spells it (byte-level characters for normal tokens). */
  tokenText(id: number): string {
    this.check(id);
    return this.texts[id];
  }

  /** Whether the token is a control token such as <|eot_id|>. */
  isSpecial(id: number): boolean {
    this.check(id);
    return this.types[id] === TokenType.control;
  }

  /** The UTF-8 bytes a token stands for (control tokens: their text; with skipSpecial: none). */
  tokenBytes(id: number, opts: DecodeOptions = {}): Uint8Array {
    this.check(id);
    const type = this.types[id];
    if (type === TokenType.control && opts.skipSpecial) return new Uint8Array(0);
    let bytes = this.bytesCache[id];
    if (!bytes) {
      const text = this.texts[id];
      if (type === TokenType.control || type === TokenType.userDefined) {
        bytes = new TextEncoder().encode(text);
      } else {
        const b = tokenTextToBytes(text);
        if (!b) throw new Error(`Token ${id} ("${text}") is not a byte-level BPE token.`);
        bytes = b;
      }
      this.bytesCache[id] = bytes;
    }
    return bytes;
  }

  /** The text of `ids`; bytes that do not form UTF-8 become U+FFFD. */
  decode(ids: number[], opts: DecodeOptions = {}): string {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (const id of ids) {
      const b = this.tokenBytes(id, opts);
      parts.push(b);
      length += b.length;
    }
    const all = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(all);
  }

  /**
   * A decoder for tokens arriving one at a time: each push returns only whole
   * characters, holding back the bytes of one still being spelled out. Control
   * tokens give no text unless `skipSpecial: false`.
   */
  createStreamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    const options = { skipSpecial: opts.skipSpecial ?? true };
    let utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
    return {
      push: (id: number) => utf8.decode(this.tokenBytes(id, options), { stream: true }),
      flush: () => {
        const rest = utf8.decode();
        utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
        return rest;
      },
    };
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new Error(`Token id ${id} is outside the vocabulary (0..${this.vocabSize - 1}).`);
    }
  }
}

/**
 * The BPE merge ranks as @huggingface/tokenizers' BPE model reads them (bpe_ranks.get of
 * the JSON of a pair), made on the first lookup: building the 280 000 ranks of Llama 3's
 * merges takes seconds, and a pre-token that is whole in the vocabulary (most of a
 * prompt; Llama 3 ignores merges for those) never looks one up.
 */
function lazyMergeRanks(merges: string[]): { get(pair: string): number | undefined } {
  let ranks: Map<string, number> | undefined;
  return {
    get(pair) {
      ranks ??= new Map(merges.map((m, i) => [JSON.stringify(m.split(" ", 2)), i]));
      return ranks.get(pair);
    },
  };
}
