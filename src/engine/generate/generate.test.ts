import { describe, expect, it } from "vitest";
import { randomBitNetWeights, smallConfig } from "../../../test-support/random-weights.ts";
import { type ForwardModel, ReferenceModel } from "../model/forward.ts";
import {
  type GenerationSampler,
  type GenerationTokenizer,
  generate,
  ModelSession,
} from "./index.ts";

const weights = randomBitNetWeights(smallConfig({ contextLength: 64 }), 11);

/** Letters for ids; ids ≥ 30 are "stop" tokens. */
const tokenizer: GenerationTokenizer = {
  stopIds: new Set([30, 31]),
  createStreamDecoder() {
    return { push: (id: number) => String.fromCharCode(97 + (id % 26)), flush: () => "" };
  },
};

/** Greedy, lowest id on ties, never a stop id (so runs reach maxTokens). */
const greedyNoStop: GenerationSampler = {
  sample(logits) {
    let best = 0;
    for (let i = 1; i < 30; i++) if (logits[i] > logits[best]) best = i;
    return best;
  },
};

/** The obvious loop written out by hand: prefill everything, then argmax and feed back. */
function manualGreedy(model: ForwardModel, prompt: number[], n: number): number[] {
  model.reset();
  let logits: Float32Array = new Float32Array(0);
  prompt.forEach((t, pos) => {
    logits = model.forward(t, pos);
  });
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = greedyNoStop.sample(logits, []);
    out.push(t);
    logits = model.forward(t, prompt.length + i);
  }
  return out;
}

/** Counts forward() calls, to check what was prefilled. */
function counting(model: ForwardModel) {
  const calls: Array<[number, number]> = [];
  const wrapped: ForwardModel = {
    config: model.config,
    maxPositions: model.maxPositions,
    forward(token, pos) {
      calls.push([token, pos]);
      return model.forward(token, pos);
    },
    reset: () => model.reset(),
  };
  return { wrapped, calls };
}

describe("generate", () => {
  it("produces the same tokens as a hand-written greedy loop, and streams them", async () => {
    const prompt = [1, 2, 3, 4];
    const expected = manualGreedy(new ReferenceModel(weights), prompt, 12);
    const pieces: string[] = [];
    const result = await generate({
      session: new ModelSession(new ReferenceModel(weights)),
      tokenizer,
      sampler: greedyNoStop,
      promptTokens: prompt,
      maxTokens: 12,
      onToken: (piece) => pieces.push(piece),
    });
    expect(result.tokens).toEqual(expected);
    expect(result.stopReason).toBe("max-tokens");
    expect(result.promptTokens).toBe(4);
    expect(result.prefilledTokens).toBe(4);
    expect(result.generatedTokens).toBe(12);
    expect(pieces.join("")).toBe(result.text);
    expect(result.text).toBe(expected.map((id) => String.fromCharCode(97 + id)).join(""));
    expect(result.prefillTokensPerSecond).toBeGreaterThan(0);
    expect(result.decodeTokensPerSecond).toBeGreaterThan(0);
    // not a degenerate model: the reply is not a single repeated token
    expect(new Set(expected).size).toBeGreaterThan(1);
  });

  it("prefills only the new tokens when the prompt extends the cached one", async () => {
    const { wrapped, calls } = counting(new ReferenceModel(weights));
    const session = new ModelSession(wrapped);
    const turn1 = [1, 2, 3, 4, 5];
    const first = await generate({
      session,
      tokenizer,
      sampler: greedyNoStop,
      promptTokens: turn1,
      maxTokens: 4,
    });
    // the last sampled token is never run through the model in turn 1
    expect(session.cachedTokens).toEqual([...turn1, ...first.tokens.slice(0, 3)]);
    calls.length = 0;
    const turn2 = [...turn1, ...first.tokens, 9, 10];
    const second = await generate({
      session,
      tokenizer,
      sampler: greedyNoStop,
      promptTokens: turn2,
      maxTokens: 6,
    });
    expect(second.prefilledTokens).toBe(3);
    expect(calls.slice(0, 3).map(([, pos]) => pos)).toEqual([8, 9, 10]);
    // and the reply is what a fresh model gives for the whole prompt
    expect(second.tokens).toEqual(manualGreedy(new ReferenceModel(weights), turn2, 6));

    // an edited history: only the common prefix is reused
    calls.length = 0;
    const turn3 = [1, 2, 7, 7];
    const third = await generate({
      session,
      tokenizer,
      sampler: greedyNoStop,
      promptTokens: turn3,
      maxTokens: 5,
    });
    expect(third.prefilledTokens).toBe(2);
    expect(calls[0][1]).toBe(2);
    expect(third.tokens).toEqual(manualGreedy(new ReferenceModel(weights), turn3, 5));

    // the same prompt again: the last prompt token is rerun to get its logits
    calls.length = 0;
    const again = await generate({
      session,
      tokenizer,
      sampler: greedyNoStop,
      promptTokens: turn3,
      maxTokens: 5,
    });
    expect(again.prefilledTokens).toBe(1);
    expect(again.tokens).toEqual(third.tokens);
  });

  it("uses the engine's batched prefill when it has one, in chunks, and can abort between them", async () => {
    const inner = new ReferenceModel(weights, 160);
    const chunks: Array<[number, number]> = [];
    const batched: ForwardModel = {
      config: inner.config,
      maxPositions: inner.maxPositions,
      forward: (t, p) => inner.forward(t, p),
      prefill(tokens, start) {
        chunks.push([start, tokens.length]);
        let logits = new Float32Array(0) as Float32Array;
        for (let i = 0; i < tokens.length; i++) logits = inner.forward(tokens[i], start + i);
        return logits;
      },
      reset: () => inner.reset(),
    };
    const prompt = Array.from({ length: 100 }, (_, i) => (i * 7) % 30);
    const result = await generate({
      session: new ModelSession(batched),
      tokenizer,
      sampler: greedyNoStop,
      promptTokens: prompt,
      maxTokens: 3,
    });
    expect(chunks).toEqual([
      [0, 64],
      [64, 36],
    ]);
    expect(result.tokens).toEqual(manualGreedy(new ReferenceModel(weights, 160), prompt, 3));

    const controller = new AbortController();
    chunks.length = 0;
    const session = new ModelSession({
      ...batched,
      prefill(tokens, start) {
        controller.abort(); // the user presses stop during the first chunk
        return batched.prefill?.(tokens, start) as Float32Array;
      },
    });
    const aborted = await generate({
      session,
      tokenizer,
      sampler: greedyNoStop,
      promptTokens: prompt,
      maxTokens: 3,
      signal: controller.signal,
    });
    expect(aborted.stopReason).toBe("aborted");
    expect(aborted.generatedTokens).toBe(0);
    expect(session.cachedTokens).toEqual(prompt.slice(0, 64));
  });

  it("stops on a stop id without emitting it", async () => {
    let n = 0;
    const sampler: GenerationSampler = { sample: () => (++n === 4 ? 31 : 5) };
    const result = await generate({
      session: new ModelSession(new ReferenceModel(weights)),
      tokenizer,
      sampler,
      promptTokens: [1],
      maxTokens: 10,
    });
    expect(result.stopReason).toBe("end-of-turn");
    expect(result.tokens).toEqual([5, 5, 5]);
    expect(result.text).toBe("fff");
  });

  it("stops when the context is full", async () => {
    const result = await generate({
      session: new ModelSession(new ReferenceModel(weights, 6)),
      tokenizer,
      sampler: greedyNoStop,
      promptTokens: [1, 2, 3, 4],
      maxTokens: 10,
    });
    // positions 4 and 5 take two generated tokens; the third has nowhere to go
    expect(result.stopReason).toBe("context-full");
    expect(result.generatedTokens).toBe(3);
  });

  it("stops when aborted, and the cache record stays true", async () => {
    const controller = new AbortController();
    const session = new ModelSession(new ReferenceModel(weights));
    const result = await generate({
      session,
      tokenizer,
      sampler: greedyNoStop,
      promptTokens: [1, 2, 3],
      maxTokens: 10,
      signal: controller.signal,
      onToken: (_piece, token) => {
        if (token !== null && session.cachedTokens.length >= 4) controller.abort();
      },
    });
    expect(result.stopReason).toBe("aborted");
    expect(result.generatedTokens).toBe(2);
    expect(session.cachedTokens).toEqual([1, 2, 3, result.tokens[0]]);
  });

  it("emits the decoder's tail once at the end", async () => {
    const pieces: Array<[string, number | null]> = [];
    const result = await generate({
      session: new ModelSession(new ReferenceModel(weights)),
      tokenizer: {
        stopIds: new Set(),
        createStreamDecoder: () => ({ push: () => "", flush: () => "tail" }),
      },
      sampler: greedyNoStop,
      promptTokens: [1],
      maxTokens: 2,
      onToken: (piece, token) => pieces.push([piece, token]),
    });
    expect(pieces.length).toBe(3);
    expect(pieces[2]).toEqual(["tail", null]);
    expect(result.text).toBe("tail");
  });

  it("rejects an empty prompt, a prompt longer than the context and a bad maxTokens", async () => {
    const session = new ModelSession(new ReferenceModel(weights, 4));
    const base = { session, tokenizer, sampler: greedyNoStop, maxTokens: 1 };
    await expect(generate({ ...base, promptTokens: [] })).rejects.toThrow(/prompt is empty/);
    await expect(generate({ ...base, promptTokens: [1, 2, 3, 4, 5] })).rejects.toThrow(
      /5 tokens but the context holds 4/,
    );
    await expect(generate({ ...base, promptTokens: [1], maxTokens: -1 })).rejects.toThrow(
      /maxTokens/,
    );
  });
});
