/**
 * One chat turn, the way the worker, the CLI and the tests' reference replies all run it:
 * fit the conversation into the context (the oldest turns fall out, the system prompt
 * stays), extend the tokens the KV cache already holds (shifting it when turns fell out),
 * generate, and remember the reply's tokens for the next turns (ConversationTokens).
 */
import type { ForwardModel } from "../bitnet/forward-model.ts";
import type { ChatMessage } from "../chat/template.ts";
import { createSampler, type SamplingSettings } from "../sampling/sampler.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { contextLimits, planContext } from "./context-policy.ts";
import { ConversationTokens } from "./conversation.ts";
import { type GenerateResult, type GenerationStats, generate, ModelSession } from "./generate.ts";

export interface ChatTurnStats extends GenerationStats {
  /** Messages after the system prompt that the model no longer saw (the oldest ones). */
  droppedMessages: number;
}

export interface ChatTurnResult extends ChatTurnStats, Pick<GenerateResult, "tokens" | "text"> {}

export interface ChatTurnOptions {
  settings: SamplingSettings;
  /** Turns of one conversation share the KV cache; another id starts afresh. */
  conversationId?: string;
  /** Each decoded piece of the reply (see generate's onToken). */
  onToken?: (piece: string, token: number | null) => void;
  signal?: AbortSignal;
}

export class ChatSession {
  readonly session: ModelSession;
  private conversation: ConversationTokens;
  private conversationId: string | undefined;
  /** How many messages the last turn left out: more this turn means turns just fell out. */
  private dropped = 0;

  constructor(
    readonly model: ForwardModel,
    readonly tokenizer: Tokenizer,
    readonly chatTemplate?: unknown,
  ) {
    this.session = new ModelSession(model);
    this.conversation = new ConversationTokens(tokenizer, chatTemplate);
  }

  /** Writes the assistant's reply to `messages` (system prompt first, the user's last). */
  async reply(messages: ChatMessage[], options: ChatTurnOptions): Promise<ChatTurnResult> {
    const { settings, conversationId } = options;
    if (conversationId !== undefined && conversationId !== this.conversationId) {
      this.reset();
      this.conversationId = conversationId;
    }
    const keptMessages = (keptFrom: number) => [
      ...messages.slice(0, keptFrom).filter((m) => m.role === "system"),
      ...messages.slice(keptFrom),
    ];
    const prompts = new Map<number, ReturnType<ConversationTokens["promptFor"]>>();
    const promptAt = (keptFrom: number) => {
      let prompt = prompts.get(keptFrom);
      if (!prompt) {
        prompt = this.conversation.promptFor(keptMessages(keptFrom));
        prompts.set(keptFrom, prompt);
      }
      return prompt;
    };
    const plan = planContext(
      messages,
      (keptFrom) => promptAt(keptFrom).tokens.length,
      contextLimits(this.model.maxPositions, settings.maxTokens),
    );
    const prompt = promptAt(plan.keptFrom);
    const result = await generate({
      session: this.session,
      tokenizer: this.tokenizer,
      sampler: createSampler(settings),
      promptTokens: prompt.tokens,
      maxTokens: settings.maxTokens,
      onToken: options.onToken,
      signal: options.signal,
      allowCacheShift: plan.droppedMessages > this.dropped,
    });
    this.conversation.record(prompt, result.tokens, result.text);
    this.dropped = plan.droppedMessages;
    return { ...result, droppedMessages: plan.droppedMessages };
  }

  /** Starts a new conversation: forgets its tokens and the KV cache. */
  reset(): void {
    this.session.reset();
    this.conversation = new ConversationTokens(this.tokenizer, this.chatTemplate);
    this.conversationId = undefined;
    this.dropped = 0;
  }

  /** Forgets the KV cache only: the next turn recomputes every token (tests replay with it). */
  forgetCache(): void {
    this.session.reset();
  }
}
