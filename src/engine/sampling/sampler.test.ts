import { describe, expect, it } from "vitest";
import { createRng, xoshiro128StarStar } from "./rng.ts";
import type { SamplingSettings } from "./sampler.ts";
import { applyRepetitionPenalty, createSampler, samplingDistribution } from "./sampler.ts";

const OFF: SamplingSettings = {
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  maxTokens: 100,
  seed: 42,
};

/** Frequencies of each id over `draws` samples. */
function frequencies(settings: SamplingSettings, logits: Float32Array, draws: number): number[] {
  const sampler = createSampler(settings);
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampler.sample(logits, [])]++;
  return counts.map((c) => c / draws);
}

/**
 * The obvious implementation, for comparing on a large vocabulary: full sorts, softmax
 * over the candidates at every step.
 */
function naiveDistribution(
  logits: Float32Array,
  history: number[],
  s: SamplingSettings,
): Map<number, number> {
  const l = Array.from(logits);
  for (const id of new Set(history.slice(-64)))
    l[id] = l[id] <= 0 ? l[id] * s.repetitionPenalty : l[id] / s.repetitionPenalty;
  let cand = l.map((_, i) => i).sort((a, b) => l[b] - l[a] || a - b);
  const softmax = (ids: number[], t: number) => {
    const m = ids.reduce((a, i) => Math.max(a, l[i] / t), Number.NEGATIVE_INFINITY);
    const e = ids.map((i) => Math.exp(l[i] / t - m));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / z);
  };
  if (s.topK > 0 && s.topK < l.length) cand = cand.slice(0, s.topK);
  if (s.topP < 1) {
    const p = softmax(cand, 1);
    let cum = 0;
    let keep = cand.length;
    for (let i = 0; i < p.length; i++) {
      cum += p[i];
      if (cum >= s.topP) {
        keep = i + 1;
        break;
      }
    }
    cand = cand.slice(0, keep);
  }
  if (s.minP > 0) {
    const p = softmax(cand, 1);
    cand = cand.filter((_, i) => p[i] >= s.minP * p[0]);
  }
  const p = softmax(cand, s.temperature);
  return new Map(cand.map((id, i) => [id, p[i]]));
}

describe("rng", () => {
  it("is xoshiro128** (first outputs from state 1, 2, 3, 4 worked by hand from the algorithm)", () => {
    const next = xoshiro128StarStar(1, 2, 3, 4);
    // out = rotl(s1 * 5, 7) * 9: s1 = 2 → rotl(10, 7) * 9 = 11520; then s1 = 0; then s1 = 1029.
    expect([next(), next(), next()]).toEqual([11520, 0, 5927040]);
  });

  it("gives the same numbers for the same seed, and looks uniform", () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const xs = Array.from({ length: 20000 }, () => a.next());
    expect(xs.slice(0, 50)).toEqual(Array.from({ length: 50 }, () => b.next()));
    expect(xs.slice(0, 50)).not.toEqual(Array.from({ length: 50 }, () => c.next()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  });
});

describe("greedy (temperature 0)", () => {
  it("takes the highest logit, the lowest id on ties", () => {
    const greedy = createSampler({ ...OFF, temperature: 0 });
    expect(greedy.sample(new Float32Array([0.1, 3, -2, 3, 1]), [])).toBe(1);
    expect(greedy.sample(new Float32Array([5, 5, 5]), [])).toBe(0);
  });

  it("applies the repetition penalty first: positive logits divided, negative multiplied", () => {
    const greedy = createSampler({ ...OFF, temperature: 0, repetitionPenalty: 1.1 });
    // 2.0 / 1.1 = 1.818 < 1.9
    expect(greedy.sample(new Float32Array([2.0, 1.9]), [0])).toBe(1);
    // -1.0 * 1.1 = -1.1 < -1.05
    expect(greedy.sample(new Float32Array([-1.0, -1.05]), [0])).toBe(1);
    expect(greedy.sample(new Float32Array([-1.0, -1.05]), [])).toBe(0);
  });
});

describe("repetition penalty", () => {
  it("covers each distinct token of the last 64 once, and leaves the input alone", () => {
    const logits = new Float32Array([2, -2, 4, 1]);
    const copy = Float32Array.from(logits);
    const history = [3, ...new Array<number>(64).fill(0), 1, 1, 1];
    applyRepetitionPenalty(copy, history, 2);
    // token 3 is 67 back (outside the window); 0 and 1 are inside, 1 counted once.
    expect(Array.from(copy)).toEqual([1, -4, 4, 1]);
    const sampler = createSampler({ ...OFF, temperature: 0, repetitionPenalty: 2 });
    sampler.sample(logits, history);
    expect(Array.from(logits)).toEqual([2, -2, 4, 1]);
  });
});

describe("sampling distributions (hand-computed, then checked by drawing)", () => {
  // Probabilities 0.5, 0.3, 0.2 at temperature 1.
  const logits = new Float32Array([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
  const cases: [string, Partial<SamplingSettings>, number[]][] = [
    ["no filter", {}, [0.5, 0.3, 0.2]],
    // cumulative 0.5 < 0.7, 0.8 ≥ 0.7: keep two, renormalise 0.5/0.8, 0.3/0.8
    ["top-p 0.7", { topP: 0.7 }, [0.625, 0.375, 0]],
    ["top-k 2", { topK: 2 }, [0.625, 0.375, 0]],
    ["top-k 1", { topK: 1 }, [1, 0, 0]],
    // min-p 0.5: keep p ≥ 0.25
    ["min-p 0.5", { minP: 0.5 }, [0.625, 0.375, 0]],
    // min-p 0.7: 0.3 / 0.5 = 0.6 < 0.7, only the top survives
    ["min-p 0.7", { minP: 0.7 }, [1, 0, 0]],
    // temperature 2: weights √0.5, √0.3, √0.2 = 0.70711, 0.54772, 0.44721 (sum 1.70204)
    ["temperature 2", { temperature: 2 }, [0.41545, 0.3218, 0.26275]],
    // temperature 0.5: weights 0.25, 0.09, 0.04 (sum 0.38)
    ["temperature 0.5", { temperature: 0.5 }, [0.65789, 0.23684, 0.10526]],
    // top-p on temperature-1 probabilities, then temperature 2 on the two survivors:
    // √0.5 : √0.3 = 0.56351 : 0.43649
    ["top-p 0.7 then temperature 2", { topP: 0.7, temperature: 2 }, [0.56351, 0.43649, 0]],
  ];

  for (const [name, settings, expected] of cases) {
    it(name, () => {
      const s = { ...OFF, ...settings };
      const dist = samplingDistribution(logits, [], s);
      const exact = [0, 0, 0];
      dist.ids.forEach((id, i) => {
        exact[id] = dist.probs[i];
      });
      for (let i = 0; i < 3; i++) expect(exact[i]).toBeCloseTo(expected[i], 4);
      const freq = frequencies(s, logits, 20000);
      for (let i = 0; i < 3; i++) {
        if (expected[i] === 0) expect(freq[i]).toBe(0);
        else expect(Math.abs(freq[i] - expected[i])).toBeLessThan(0.015);
      }
    });
  }

  it("draws the same sequence for the same seed, another for another seed", () => {
    const big = new Float32Array(1000).map((_, i) => Math.sin(i) * 3);
    const run = (seed: number) => {
      const s = createSampler({ ...OFF, temperature: 0.8, topK: 50, topP: 0.95, seed });
      return Array.from({ length: 200 }, () => s.sample(big, []));
    };
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
  });
});

describe("on a 128256-token vocabulary", () => {
  const n = 128256;
  const rng = createRng(123);
  // Spread like real logits: most far down, a few high.
  const logits = new Float32Array(n).map(() => {
    const u = rng.next();
    return -8 + 20 * u ** 6 + rng.next();
  });
  const history = Array.from({ length: 100 }, (_, i) => (i * 7919) % n);

  const settings: [string, Partial<SamplingSettings>][] = [
    ["top-p only", { topP: 0.9 }],
    ["min-p only", { minP: 0.05 }],
    [
      "the UI defaults",
      { temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05, repetitionPenalty: 1.1 },
    ],
    ["top-p and min-p, hot", { temperature: 1.5, topP: 0.8, minP: 0.01, repetitionPenalty: 1.3 }],
  ];
  for (const [name, partial] of settings) {
    it(`agrees with the obvious implementation: ${name}`, () => {
      const s = { ...OFF, ...partial };
      const fast = samplingDistribution(logits, history, s);
      const naive = naiveDistribution(logits, history, s);
      expect(fast.ids.length).toBe(naive.size);
      fast.ids.forEach((id, i) => {
        expect(naive.has(id)).toBe(true);
        expect(fast.probs[i]).toBeCloseTo(naive.get(id) as number, 9);
      });
      const sampler = createSampler(s);
      for (let i = 0; i < 50; i++) expect(naive.has(sampler.sample(logits, history))).toBe(true);
    });
  }

  it("reaches top-p exactly even when the nucleus needs tokens far below the top", () => {
    // One token at 0, the rest at -31: together they hold ~4e-9 of the mass.
    const spread = new Float32Array(n).fill(-31);
    spread[5] = 0;
    const s = { ...OFF, topP: 1 - 1e-9 };
    const fast = samplingDistribution(spread, [], s);
    const naive = naiveDistribution(spread, [], s);
    expect(fast.ids.length).toBeGreaterThan(1);
    expect(fast.ids).toEqual([...naive.keys()]);
  });
});

describe("settings errors", () => {
  it("says what is wrong", () => {
    expect(() => createSampler({ ...OFF, temperature: -1 })).toThrow(/temperature/);
    expect(() => createSampler({ ...OFF, topK: 1.5 })).toThrow(/top-k/);
    expect(() => createSampler({ ...OFF, topP: 2 })).toThrow(/top-p/);
    expect(() => createSampler({ ...OFF, minP: Number.NaN })).toThrow(/min-p/);
    expect(() => createSampler({ ...OFF, repetitionPenalty: 0 })).toThrow(/repetition penalty/);
    expect(() => createSampler(OFF).sample(new Float32Array([1, Number.NaN]), [])).toThrow(/NaN/);
  });
});
