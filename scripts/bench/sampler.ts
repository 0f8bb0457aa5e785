/**
 * Sampler cost per token on a 128256-entry logit vector, printed (not asserted).
 * Run: npx tsx scripts/bench/sampler.ts
 */

import { createRng } from "../../src/engine/sampling/rng.ts";
import type { SamplingSettings } from "../../src/engine/sampling/sampler.ts";
import { createSampler } from "../../src/engine/sampling/sampler.ts";

const n = 128256;
const rng = createRng(1);
// Peaked like a trained model's logits: a handful of candidates, a long low tail.
const peaked = new Float32Array(n).map(() => -5 + 3 * rng.next());
for (let i = 0; i < 20; i++) peaked[Math.floor(rng.next() * n)] = 8 + 4 * rng.next();
// Flat: the worst case for top-p without top-k (nearly everything must be sorted).
const flat = new Float32Array(n).map(() => rng.next());
const history = Array.from({ length: 64 }, (_, i) => (i * 7919) % n);

const base: SamplingSettings = {
  temperature: 0.7,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repetitionPenalty: 1.1,
  maxTokens: 256,
  seed: 1,
};
const cases: [string, Partial<SamplingSettings>][] = [
  ["greedy", { temperature: 0 }],
  ["UI defaults (k40 p.95 min-p.05)", {}],
  ["top-p 0.9 only", { topK: 0, minP: 0, topP: 0.9 }],
  ["min-p 0.05 only", { topK: 0, topP: 1 }],
  ["temperature only", { topK: 0, topP: 1, minP: 0 }],
];
for (const [logitsName, logits] of [
  ["peaked", peaked],
  ["flat", flat],
] as const) {
  for (const [name, partial] of cases) {
    const sampler = createSampler({ ...base, ...partial });
    const runs = logitsName === "flat" && partial.topP === 0.9 ? 5 : 50;
    sampler.sample(logits, history);
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) sampler.sample(logits, history);
    const ms = (performance.now() - t0) / runs;
    console.log(`${logitsName.padEnd(7)} ${name.padEnd(34)} ${ms.toFixed(2)} ms per token`);
  }
}
