import { describe, expect, it } from "vitest";
import { randomBitNetWeights, smallConfig } from "../../../test-support/random-weights.ts";
import { ReferenceModel } from "./forward.ts";

// A context shift (ForwardModel.shiftCache) on the reference engine, checked two ways:
// - layer 0's keys and values depend only on the token and its position, so after the
//   shift they must equal a fresh prefill of the kept tokens at their new positions;
// - in every layer each kept key must be the old key turned back by the dropped count of
//   positions (RoPE NEOX: pairs i and i + d/2, angle pos · theta^(-2i/d)), computed here in
//   float64 from the cache before the shift, and each value must be moved unchanged.

const config = smallConfig({
  layers: 3,
  hidden: 32,
  heads: 4,
  kvHeads: 2,
  headDim: 8,
  contextLength: 64,
  ropeTheta: 500000,
});
const weights = randomBitNetWeights(config, 5);
const kvDim = config.kvHeads * config.headDim;
const tokens = Array.from({ length: 40 }, (_, i) => (i * 11 + 3) % config.vocab);
const keep = 4;
const discard = 13;

function prefilled(sequence: number[]): ReferenceModel {
  const model = new ReferenceModel(weights);
  sequence.forEach((t, pos) => {
    model.forward(t, pos);
  });
  return model;
}

/** Float32 keys carry ~1e-7 relative error; a rotation keeps a vector's length. */
function expectClose(actual: Float32Array, expected: ArrayLike<number>, tolerance: number) {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  }
  expect(worst).toBeLessThan(tolerance);
}

describe("reference context shift", () => {
  const before = prefilled(tokens);
  const oldKeys = before.state.keyCache.map((k) => k.slice());
  const oldValues = before.state.valueCache.map((v) => v.slice());
  const shifted = prefilled(tokens);
  shifted.shiftCache(keep, discard, tokens.length);
  const kept = tokens.length - discard;

  it("layer 0 equals a fresh prefill of the kept tokens at their new positions", () => {
    const fresh = prefilled([...tokens.slice(0, keep), ...tokens.slice(keep + discard)]);
    expectClose(
      shifted.state.keyCache[0].subarray(0, kept * kvDim),
      fresh.state.keyCache[0].subarray(0, kept * kvDim),
      1e-5,
    );
    expectClose(
      shifted.state.valueCache[0].subarray(0, kept * kvDim),
      fresh.state.valueCache[0].subarray(0, kept * kvDim),
      1e-6,
    );
  });

  it("every layer's kept keys are turned back by the dropped positions; values move as they are", () => {
    const half = config.headDim / 2;
    for (let l = 0; l < config.layers; l++) {
      const expected = new Float64Array(kept * kvDim);
      for (let p = 0; p < kept; p++) {
        const from = p < keep ? p : p + discard;
        const turn = p < keep ? 0 : -discard;
        for (let h = 0; h < config.kvHeads; h++) {
          const base = h * config.headDim;
          for (let i = 0; i < half; i++) {
            const angle = turn * config.ropeTheta ** ((-2 * i) / config.headDim);
            const a = oldKeys[l][from * kvDim + base + i];
            const b = oldKeys[l][from * kvDim + base + i + half];
            expected[p * kvDim + base + i] = a * Math.cos(angle) - b * Math.sin(angle);
            expected[p * kvDim + base + i + half] = a * Math.sin(angle) + b * Math.cos(angle);
          }
        }
      }
      expectClose(shifted.state.keyCache[l].subarray(0, kept * kvDim), expected, 1e-5);
      expect(shifted.state.valueCache[l].subarray(keep * kvDim, kept * kvDim)).toEqual(
        oldValues[l].subarray((keep + discard) * kvDim, tokens.length * kvDim),
      );
      // the kept start is untouched
      expect(shifted.state.keyCache[l].subarray(0, keep * kvDim)).toEqual(
        oldKeys[l].subarray(0, keep * kvDim),
      );
    }
  });

  it("goes on generating from the shifted cache", () => {
    const logits = shifted.forward(7, kept);
    expect(logits.every(Number.isFinite)).toBe(true);
  });

  it("refuses a shift outside the used positions, in words", () => {
    const model = new ReferenceModel(weights);
    expect(() => model.shiftCache(10, 5, 12)).toThrow(/Cannot shift the KV cache/);
    expect(() => model.shiftCache(0, 0, 12)).toThrow(/discard 0/);
    expect(() => model.shiftCache(0, 4, 65)).toThrow(/it holds 64/);
  });
});
