import type { ChatMessage } from "../chat/template.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { renderChatPrompt } from "./prompt.ts";

/** A stretch of the rendered conversation and the tokens that spell it. */
interface Segment {
  text: string;
  tokens: number[];
}

/** A prompt: its rendered text and tokens, cut into segments that the next turn can reuse. */
export interface ConversationPrompt {
  text: string;
  tokens: number[];
  segments: Segment[];
}

/**
 * The exact tokens a conversation's last turn left in the KV cache (its prompt and the
 * model's own reply), so the next turn extends them rather than re-encoding the reply:
 * re-encoding can merge tokens across the prompt/reply seam ("Assistant: " + "Hello"
 * becomes "Assistant:" + " Hello"), and the cache would then be recomputed from there on
 * every turn.
 *
 * The tokens are kept as segments cut at control tokens (which no encoding merges across)
 * and at the reply, so that when the oldest turns fall out of the context the rest keeps
 * its tokens, and the KV cache can be shifted instead of recomputed.
 */
export class ConversationTokens {
  private segments: Segment[] = [];

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly fileTemplate?: unknown,
  ) {}

  /**
   * Prompt tokens for `messages`: the last turn's segments as far as the new rendering
   * repeats them; with `allowGap` (the caller left the oldest turns out), also the
   * segments after a left-out block; then the newly rendered rest, encoded.
   */
  promptFor(messages: ChatMessage[], options: { allowGap?: boolean } = {}): ConversationPrompt {
    const { text, addBos } = renderChatPrompt(this.tokenizer, messages, this.fileTemplate);
    const old = this.segments;
    const kept: Segment[] = [];
    let offset = 0;
    let i = 0;
    const bosFirst = old[0]?.text === "" && old[0].tokens[0] === this.tokenizer.bosId;
    if (old.length > 0 && bosFirst === addBos) {
      while (i < old.length && text.startsWith(old[i].text, offset)) {
        if (i > 0 && old[i].text === "") break;
        kept.push(old[i]);
        offset += old[i].text.length;
        i++;
      }
      if (options.allowGap && i < old.length && i > 0) {
        const after = resumeAfterGap(old, i, text, offset);
        if (after) {
          for (let j = after.from; j < after.to; j++) {
            kept.push(old[j]);
            offset += old[j].text.length;
          }
        }
      }
    }
    const rest = text.slice(offset);
    const segments = [
      ...kept,
      ...(kept.length === 0 && addBos ? [{ text: "", tokens: [this.tokenizer.bosId] }] : []),
      ...this.segment(rest),
    ];
    return { text, tokens: segments.flatMap((s) => s.tokens), segments };
  }

  /** Records a finished turn: its prompt and the reply tokens the model generated. */
  record(prompt: ConversationPrompt, replyTokens: number[], replyText: string) {
    this.segments = [...prompt.segments, { text: replyText, tokens: replyTokens.slice() }];
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

/**
 * After old[0..gapStart) matched, finds where the rendering goes on with later old segments
 * (the oldest turns were left out): the first j whose segments old[j..] match from
 * `offset` to the last segment, or to all but the last (a reply the template re-renders,
 * e.g. trimmed). Returns the matched range, or null when the history was changed instead.
 */
function resumeAfterGap(
  old: Segment[],
  gapStart: number,
  text: string,
  offset: number,
): { from: number; to: number } | null {
  for (let j = gapStart + 1; j < old.length; j++) {
    let at = offset;
    let k = j;
    while (k < old.length && text.startsWith(old[k].text, at)) {
      at += old[k].text.length;
      k++;
    }
    if (k >= old.length - 1 && k > j && at > offset) return { from: j, to: k };
  }
  return null;
}
