import type { ChatMessage } from "../chat/template.ts";
import { chooseChatTemplate, renderChat, startsWithBos } from "../chat/template.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";

/**
 * A conversation rendered with the file's chat template (or the 2B4T one, see
 * chooseChatTemplate), ending with the assistant's opening, and whether BOS must be
 * added when encoding it (once, unless the template wrote it).
 */
export function renderChatPrompt(
  tokenizer: Tokenizer,
  messages: ChatMessage[],
  fileTemplate?: unknown,
): { text: string; addBos: boolean } {
  const bosToken = tokenizer.tokenText(tokenizer.bosId);
  const text = renderChat(messages, {
    template: chooseChatTemplate(typeof fileTemplate === "string" ? fileTemplate : undefined),
    bosToken,
    eosToken: tokenizer.tokenText(tokenizer.eosId),
    addGenerationPrompt: true,
  });
  return { text, addBos: tokenizer.addBosToken && !startsWithBos(text, bosToken) };
}

/** The token ids of a conversation, ready for generate() (see renderChatPrompt). */
export function chatPromptTokens(
  tokenizer: Tokenizer,
  messages: ChatMessage[],
  fileTemplate?: unknown,
): number[] {
  const { text, addBos } = renderChatPrompt(tokenizer, messages, fileTemplate);
  return tokenizer.encode(text, { addBos, parseSpecial: true });
}

/** Plain text as a prompt, no template (the CLI's --raw): BOS, then the text. */
export function rawPromptTokens(tokenizer: Tokenizer, text: string): number[] {
  return tokenizer.encode(text, { addBos: tokenizer.addBosToken, parseSpecial: true });
}
