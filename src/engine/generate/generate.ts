/**
 * The generation loop shared by the CLI and the worker: prefill the prompt (only the part
 * the KV cache does not already hold), then sample, stream text, stop.
 */

import type { ForwardModel } from "../bitnet/forward-model.ts";
import { greedySampling } from "../sampling/defaults.ts";
import { createSampler } from "../sampling/sampler.ts";

export interface GenerationStats {
  promptTokens: number;
  /** Prompt tokens actually prefilled (fewer when the KV cache was reused). */
  prefilledTokens: number;
  /** Tokens the KV cache let go by a shift (left-out turns), instead of recomputing the rest. */
  shiftedTokens: number;
  generatedTokens: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  stopReason: "end-of-turn" | "max-tokens" | "aborted" | "context-full";
}

/** What the loop needs from the tokenizer (src/engine/tokenizer's Tokenizer has it). */
export interface GenerationTokenizer {
  /** End-of-turn / end-of-text ids: sampling one ends the reply. */
  readonly stopIds: ReadonlySet<number>;
  /** A decoder that emits only complete UTF-8 text, piece by piece. */
  createStreamDecoder(): { push(id: number): string; flush(): string };
}

/** What the loop needs from the sampler (src/engine/sampling's createSampler gives it). */
export interface GenerationSampler {
  /** Picks the next token; `history` is every token so far (prompt and reply). */
  sample(logits: Float32Array, history: number[]): number;
}

/**
 * A model plus a record of the tokens its KV cache holds, so that a conversation's next
 * turn prefills only what is new. One per model instance (it owns that model's cache).
 */
export class ModelSession {
  /** Tokens whose keys and values sit in the cache at positions 0..length-1. */
  cachedTokens: number[] = [];

  constructor(readonly model: ForwardModel) {}

  /** Forgets the cache. */
  reset(): void {
    this.model.reset();
    this.cachedTokens = [];
  }

  /**
   * Makes the cache hold the longest reusable start of `prompt` and returns its length
   * (at most prompt.length - 1: the last token is rerun for its logits). With `allowShift`,
   * when the prompt is the cached tokens with a block left out (the oldest turns) and the
   * model can shift its cache, the block is discarded and the tokens after it move up,
   * rather than being computed again.
   */
  reuse(prompt: number[], allowShift = false): { reused: number; shifted: number } {
    let shared = commonPrefixLength(this.cachedTokens, prompt);
    let shifted = 0;
    if (allowShift && this.model.shiftCache && shared < this.cachedTokens.length) {
      const gap = leftOutBlock(this.cachedTokens, prompt, shared);
      if (gap > 0) {
        this.model.shiftCache(shared, gap, this.cachedTokens.length);
        this.cachedTokens.splice(shared, gap);
        shifted = gap;
        shared = commonPrefixLength(this.cachedTokens, prompt);
      }
    }
    const reused = Math.min(shared, prompt.length - 1);
    this.cachedTokens = prompt.slice(0, reused);
    return { reused, shifted };
  }
}

/** A shift must keep at least this many tokens to be worth it; fewer are just recomputed. */
const MIN_SHIFT_KEPT = 16;

/**
 * The length of the block cached[start..start+gap) whose removal makes the rest of the
 * cache a start of prompt[start..] (at least MIN_SHIFT_KEPT tokens of it), or 0.
 */
function leftOutBlock(cached: number[], prompt: number[], start: number): number {
  for (let gap = 1; cached.length - start - gap >= MIN_SHIFT_KEPT; gap++) {
    const kept = cached.length - start - gap;
    if (kept > prompt.length - start) continue;
    let k = 0;
    while (k < kept && cached[start + gap + k] === prompt[start + k]) k++;
    if (k === kept) return gap;
  }
  return 0;
}

export interface GenerateOptions {
  session: ModelSession;
  tokenizer: GenerationTokenizer;
  sampler: GenerationSampler;
  /** The whole prompt (e.g. the rendered conversation so far), BOS included if wanted. */
  promptTokens: number[];
  maxTokens: number;
  /**
   * Called for each generated token with the text it completes ("" while a UTF-8
   * character is still split), and once more with token null for the decoder's tail.
   */
  onToken?: (piece: string, token: number | null) => void;
  signal?: AbortSignal;
  /** Let the KV cache shift out a left-out block of the cached tokens (see ModelSession.reuse). */
  allowCacheShift?: boolean;
}

export interface GenerateResult extends GenerationStats {
  /** The generated token ids, without the stop token. */
  tokens: number[];
  /** The generated text. */
  text: string;
}

/** Lets the event loop run (so an abort message can arrive) without the 4 ms timer clamp. */
const yieldToEventLoop: () => Promise<void> =
  typeof setImmediate === "function"
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () =>
        new Promise((resolve) => {
          const channel = new MessageChannel();
          channel.port1.onmessage = () => {
            channel.port1.close();
            resolve();
          };
          channel.port2.postMessage(null);
        });

function commonPrefixLength(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Prompt tokens per prefill step: a multiple of the wasm engine's batch (32). */
const PREFILL_CHUNK = 64;

const perSecond = (count: number, ms: number) => (ms > 0 ? (count * 1000) / ms : 0);

export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const { session, tokenizer, sampler, promptTokens, maxTokens, onToken, signal } = options;
  const model = session.model;
  if (promptTokens.length === 0) throw new Error("The prompt is empty: give at least one token.");
  if (!Number.isInteger(maxTokens) || maxTokens < 0) {
    throw new Error(`maxTokens must be a whole number ≥ 0, got ${maxTokens}.`);
  }
  if (promptTokens.length > model.maxPositions) {
    throw new Error(
      `The prompt has ${promptTokens.length} tokens but the context holds ${model.maxPositions}.`,
    );
  }

  // Reuse the cached prefix; recompute at least the last prompt token to get its logits.
  const { reused, shifted } = session.reuse(promptTokens, options.allowCacheShift);

  const history = promptTokens.slice();
  const generated: number[] = [];
  const decoder = tokenizer.createStreamDecoder();
  let text = "";
  let stopReason: GenerationStats["stopReason"] = "max-tokens";

  // prefill, in chunks so that an abort is seen between them
  const prefillStart = performance.now();
  let logits: Float32Array | null = null;
  for (let pos = reused; pos < promptTokens.length; ) {
    if (signal?.aborted) {
      stopReason = "aborted";
      break;
    }
    const chunk = promptTokens.slice(pos, Math.min(pos + PREFILL_CHUNK, promptTokens.length));
    if (model.prefill) {
      logits = model.prefill(chunk, pos);
    } else {
      for (let i = 0; i < chunk.length; i++) logits = model.forward(chunk[i], pos + i);
    }
    session.cachedTokens.push(...chunk);
    pos += chunk.length;
    await yieldToEventLoop();
  }
  const prefillMs = performance.now() - prefillStart;
  const prefilled = session.cachedTokens.length - reused;

  // decode
  const decodeStart = performance.now();
  let decodeSteps = 0;
  if (stopReason !== "aborted" && logits) {
    while (true) {
      if (generated.length >= maxTokens) {
        stopReason = "max-tokens";
        break;
      }
      const token = sampler.sample(logits, history);
      if (tokenizer.stopIds.has(token)) {
        stopReason = "end-of-turn";
        break;
      }
      generated.push(token);
      history.push(token);
      const piece = decoder.push(token);
      text += piece;
      onToken?.(piece, token);
      if (generated.length >= maxTokens) {
        stopReason = "max-tokens";
        break;
      }
      const pos = session.cachedTokens.length;
      if (pos >= model.maxPositions) {
        stopReason = "context-full";
        break;
      }
      await yieldToEventLoop();
      if (signal?.aborted) {
        stopReason = "aborted";
        break;
      }
      logits = model.forward(token, pos);
      session.cachedTokens.push(token);
      decodeSteps++;
    }
  }
  const decodeMs = performance.now() - decodeStart;
  const tail = decoder.flush();
  if (tail) {
    text += tail;
    onToken?.(tail, null);
  }

  return {
    promptTokens: promptTokens.length,
    prefilledTokens: prefilled,
    shiftedTokens: shifted,
    generatedTokens: generated.length,
    prefillTokensPerSecond: perSecond(prefilled, prefillMs),
    decodeTokensPerSecond: perSecond(decodeSteps, decodeMs),
    stopReason,
    tokens: generated,
    text,
  };
}

/**
 * The greedy continuation of `promptTokens` from a reset session, as parity checks compare
 * it with another engine's or format's: the tokens, then -1 if the model ended its turn.
 */
export async function greedyContinuation(
  session: ModelSession,
  tokenizer: GenerationTokenizer,
  promptTokens: number[],
  maxTokens: number,
): Promise<number[]> {
  session.reset();
  const result = await generate({
    session,
    tokenizer,
    sampler: createSampler(greedySampling(maxTokens)),
    promptTokens,
    maxTokens,
  });
  return [...result.tokens, ...(result.stopReason === "end-of-turn" ? [-1] : [])];
}
