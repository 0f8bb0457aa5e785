import type { ChatMessage } from "../chat/template.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { renderChatPrompt } from "./prompt.ts";

/** A stretch of the rendered conversation and the tokens that spell it. */
interface Segment {
  text: string;
  tokens: number[];
}

/** A prompt: the text its tokens spell, the tokens, and the replies whose own tokens it holds. */
export interface ConversationPrompt {
  text: string;
  tokens: number[];
  /** The replies (by text) written into the prompt as the tokens the model generated. */
  replies: string[];
}

/**
 * A conversation's prompt tokens built so that the KV cache matches them by construction:
 * each reply the model wrote in this conversation is put in as the tokens it generated
 * (remembered by the reply's text), never as a re-encoding of its text. Re-encoding can
 * give other tokens: it merges across the prompt/reply seam ("Assistant: " + "Hello"
 * becomes "Assistant:" + " Hello"), byte soup does not round-trip, and a template may trim
 * the reply; the cache would then be recomputed from there on, and a cache shift (when the
 * oldest turns fall out) would find no match at all.
 *
 * The rest of the rendering is encoded piece by piece between the replies and cut at control
 * tokens (which no encoding merges across), so every piece has the same tokens in every
 * turn: leaving the oldest turns out removes a block of tokens and changes none after it.
 */
export class ConversationTokens {
  /** The tokens the model generated for each reply of this conversation, by the reply's text. */
  private replies = new Map<string, number[]>();

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly fileTemplate?: unknown,
  ) {}

  /**
   * Prompt tokens for `messages`: rendered with the chat template, the replies this
   * conversation generated as their own tokens, the rest encoded. When the template does
   * more to a reply than pass it through or trim it, everything is encoded.
   */
  promptFor(messages: ChatMessage[]): ConversationPrompt {
    const plain = renderChatPrompt(this.tokenizer, messages, this.fileTemplate);
    const own = messages.map((m) =>
      m.role === "assistant" ? this.replies.get(m.content) : undefined,
    );
    const marks = own.map((tokens, i) => (tokens ? replyMark(i) : null));
    const used = marks.flatMap((mark, i) => (mark === null ? [] : [i]));
    if (used.length === 0) return this.build(plain.addBos, [plain.text], [], []);
    const marked = messages.map((m, i) => ({ ...m, content: marks[i] ?? m.content }));
    const rendered = renderChatPrompt(this.tokenizer, marked, this.fileTemplate);
    const pieces = splitAtMarks(rendered.text, marks);
    const texts = used.map((i) => messages[i].content);
    const spells = (replies: string[]) =>
      pieces?.map((piece, i) => piece + (replies[i] ?? "")).join("") === plain.text;
    if (pieces === null || !(spells(texts) || spells(texts.map((t) => t.trim())))) {
      return this.build(plain.addBos, [plain.text], [], []);
    }
    return this.build(
      rendered.addBos,
      pieces,
      texts,
      used.map((i) => own[i] as number[]),
    );
  }

  /** Remembers the reply the model just generated, and forgets replies no longer in the prompt. */
  record(prompt: ConversationPrompt, replyTokens: number[], replyText: string) {
    const kept = new Map<string, number[]>();
    for (const text of prompt.replies) {
      const tokens = this.replies.get(text);
      if (tokens) kept.set(text, tokens);
    }
    kept.set(replyText, replyTokens.slice());
    this.replies = kept;
  }

  /** BOS if wanted, then pieces[0], replies[0], pieces[1], … (one more piece than replies). */
  private build(
    addBos: boolean,
    pieces: string[],
    replyTexts: string[],
    replyTokens: number[][],
  ): ConversationPrompt {
    const segments: Segment[] = addBos ? [{ text: "", tokens: [this.tokenizer.bosId] }] : [];
    pieces.forEach((piece, i) => {
      segments.push(...this.segment(piece));
      if (i < replyTexts.length) segments.push({ text: replyTexts[i], tokens: replyTokens[i] });
    });
    return {
      text: segments.map((s) => s.text).join(""),
      tokens: segments.flatMap((s) => s.tokens),
      replies: replyTexts,
    };
  }

  /** Encodes text (no BOS) and cuts it into segments at its control tokens. */
  private segment(text: string): Segment[] {
    if (text === "") return [];
    const ids = this.tokenizer.encode(text, { parseSpecial: true });
    const out: Segment[] = [];
    let cursor = 0;
    let run: number[] = [];
    for (const id of ids) {
      if (!this.tokenizer.isSpecial(id)) {
        run.push(id);
        continue;
      }
      const spelled = this.tokenizer.tokenText(id);
      const at = text.indexOf(spelled, cursor);
      if (at < 0) return [{ text, tokens: ids }]; // cannot place it: one segment, still exact
      if (run.length > 0) out.push({ text: text.slice(cursor, at), tokens: run });
      out.push({ text: spelled, tokens: [id] });
      cursor = at + spelled.length;
      run = [];
    }
    if (run.length > 0 || cursor < text.length) out.push({ text: text.slice(cursor), tokens: run });
    return out;
  }
}

/** A placeholder for message i's content that no message holds (private-use characters). */
function replyMark(i: number): string {
  return `\uE000${i}\uE001`;
}

/**
 * The rendering cut at the marks, in message order (the pieces between them), or null when
 * a mark is missing, repeated or out of order (the template changed the content).
 */
function splitAtMarks(text: string, marks: (string | null)[]): string[] | null {
  const pieces: string[] = [];
  let from = 0;
  for (const mark of marks) {
    if (mark === null) continue;
    const at = text.indexOf(mark, from);
    if (at < 0 || text.indexOf(mark, at + mark.length) >= 0) return null;
    pieces.push(text.slice(from, at));
    from = at + mark.length;
  }
  pieces.push(text.slice(from));
  return pieces;
}
