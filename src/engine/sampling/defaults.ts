import type { SamplingSettings } from "./sampler.ts";

/**
 * The sampling a chat starts with, the same in the terminal (scripts/chat.ts) and the app
 * (the UI reaches it through the worker API): llama.cpp's filters, a slightly cool
 * temperature and a mild repetition penalty, which keep a small model from looping.
 */

/** Seed value meaning "pick a new random seed for every reply". */
export const RANDOM_SEED = -1;

export const DEFAULT_SAMPLING: Readonly<SamplingSettings> = Object.freeze({
  temperature: 0.6,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repetitionPenalty: 1.1,
  maxTokens: 512,
  seed: RANDOM_SEED,
});

/**
 * Plain greedy decoding (the most likely token every step, no filter, no repetition
 * penalty): what parity checks against another implementation's greedy tokens use.
 */
export function greedySampling(maxTokens: number): SamplingSettings {
  return { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxTokens, seed: 0 };
}

/** The settings the engine receives: a random seed resolved to a concrete one. */
export function resolveSeed(
  settings: SamplingSettings,
  random: () => number = Math.random,
): SamplingSettings {
  if (settings.seed !== RANDOM_SEED) return settings;
  return { ...settings, seed: Math.floor(random() * 0x1_0000_0000) >>> 0 };
}
