import type { ChatMessage } from "../chat/template.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { renderChatPrompt } from "./prompt.ts";

/**
 * The exact tokens a conversation's last turn left in the KV cache (its prompt and the
 * model's own reply), so the next turn extends them rather than re-encoding the reply:
 * re-encoding can merge tokens across the prompt/reply seam ("Assistant: " + "Hello"
 * becomes "Assistant:" + " Hello"), and the cache would then be recomputed from there on
 * every turn.
 */
export class ConversationTokens {
  /** The rendered text that `tokens` spell, prompt and reply. */
  private text = "";
  private tokens: number[] = [];

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly fileTemplate?: unknown,
  ) {}

  /**
   * Prompt tokens for `messages`: the last turn's tokens plus the newly rendered tail when
   * the new rendering extends the old one (a follow-up message), else a fresh encoding
   * (an edit, a regenerate, a reply the template rewrites).
   */
  promptFor(messages: ChatMessage[]): { text: string; tokens: number[] } {
    const { text, addBos } = renderChatPrompt(this.tokenizer, messages, this.fileTemplate);
    if (this.tokens.length > 0 && text.startsWith(this.text)) {
      const tail = this.tokenizer.encode(text.slice(this.text.length), { parseSpecial: true });
      return { text, tokens: [...this.tokens, ...tail] };
    }
    return { text, tokens: this.tokenizer.encode(text, { addBos, parseSpecial: true }) };
  }

  /** Records a finished turn: its prompt and the reply tokens the model generated. */
  record(prompt: { text: string; tokens: number[] }, replyTokens: number[], replyText: string) {
    this.text = prompt.text + replyText;
    this.tokens = [...prompt.tokens, ...replyTokens];
  }
}
