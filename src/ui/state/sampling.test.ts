import { describe, expect, it } from "vitest";
import {
  checkSetting,
  DEFAULT_SAMPLING,
  normalizeSampling,
  RANDOM_SEED,
  resolveSeed,
  SAMPLING_KEYS,
} from "./sampling.ts";

describe("checkSetting", () => {
  it("accepts values inside the limits, from strings and numbers", () => {
    expect(checkSetting("temperature", "0.7")).toEqual({ value: 0.7 });
    expect(checkSetting("topK", 40)).toEqual({ value: 40 });
    expect(checkSetting("seed", "-1")).toEqual({ value: -1 });
  });
  it("refuses in words what is not a number, not whole, or out of range", () => {
    expect(checkSetting("temperature", "warm")).toEqual({ error: "Temperature must be a number." });
    expect(checkSetting("temperature", "")).toEqual({ error: "Temperature must be a number." });
    expect(checkSetting("maxTokens", "10.5")).toEqual({
      error: "Max tokens must be a whole number.",
    });
    expect(checkSetting("topP", 1.5)).toEqual({ error: "Top-p must be between 0 and 1." });
    expect(checkSetting("repetitionPenalty", "0.5")).toEqual({
      error: "Repetition penalty must be between 1 and 2.",
    });
    expect(checkSetting("temperature", "Infinity")).toEqual({
      error: "Temperature must be a number.",
    });
  });
  it("finds every default inside its own limits", () => {
    for (const key of SAMPLING_KEYS)
      expect(checkSetting(key, DEFAULT_SAMPLING[key])).toEqual({ value: DEFAULT_SAMPLING[key] });
  });
});

describe("resolveSeed", () => {
  it("keeps a fixed seed and turns the random marker into an unsigned 32-bit seed", () => {
    expect(resolveSeed({ ...DEFAULT_SAMPLING, seed: 7 }).seed).toBe(7);
    const resolved = resolveSeed({ ...DEFAULT_SAMPLING, seed: RANDOM_SEED }, () => 0.999999999);
    expect(resolved.seed).toBe(Math.floor(0.999999999 * 2 ** 32));
    expect(resolveSeed(DEFAULT_SAMPLING, () => 0).seed).toBe(0);
  });
});

describe("normalizeSampling", () => {
  it("keeps valid fields and replaces invalid or missing ones with defaults", () => {
    expect(normalizeSampling({ temperature: 1.2, topK: "x", topP: 5 })).toEqual({
      ...DEFAULT_SAMPLING,
      temperature: 1.2,
    });
    expect(normalizeSampling(null)).toEqual(DEFAULT_SAMPLING);
  });
});
