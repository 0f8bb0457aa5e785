import type { ChatMessage } from "../../worker/api.ts";
import { chooseChatTemplate, renderChat, startsWithBos } from "../chat/template.ts";
import type { Tokenizer } from "../tokenizer/index.ts";

/**
 * The token ids of a conversation, ready for generate(): rendered with the file's chat
 * template (or the 2B4T one, see chooseChatTemplate), ending with the assistant's
 * opening, BOS added once unless the template wrote it.
 */
export function chatPromptTokens(
  tokenizer: Tokenizer,
  messages: ChatMessage[],
  fileTemplate?: unknown,
): number[] {
  const bosToken = tokenizer.tokenText(tokenizer.bosId);
  const text = renderChat(messages, {
    template: chooseChatTemplate(typeof fileTemplate === "string" ? fileTemplate : undefined),
    bosToken,
    eosToken: tokenizer.tokenText(tokenizer.eosId),
    addGenerationPrompt: true,
  });
  const addBos = tokenizer.addBosToken && !startsWithBos(text, bosToken);
  return tokenizer.encode(text, { addBos, parseSpecial: true });
}

/** Plain text as a prompt, no template (the CLI's --raw): BOS, then the text. */
export function rawPromptTokens(tokenizer: Tokenizer, text: string): number[] {
  return tokenizer.encode(text, { addBos: tokenizer.addBosToken, parseSpecial: true });
}
