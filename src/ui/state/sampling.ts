import { DEFAULT_SAMPLING, type SamplingSettings } from "../../worker/api.ts";

// The defaults are the engine's, shared with the terminal chat (scripts/chat.ts).
export { DEFAULT_SAMPLING, RANDOM_SEED, resolveSeed } from "../../worker/api.ts";

export const DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant.";

interface Limit {
  label: string;
  min: number;
  max: number;
  step: number;
  integer: boolean;
  help: string;
}

/** What each setting may be; the settings form and share links both check against this. */
export const SAMPLING_LIMITS: Record<keyof SamplingSettings, Limit> = {
  temperature: {
    label: "Temperature",
    min: 0,
    max: 2,
    step: 0.05,
    integer: false,
    help: "0 always picks the most likely token.",
  },
  topK: { label: "Top-k", min: 0, max: 1000, step: 1, integer: true, help: "0 turns it off." },
  topP: { label: "Top-p", min: 0, max: 1, step: 0.01, integer: false, help: "1 turns it off." },
  minP: { label: "Min-p", min: 0, max: 1, step: 0.01, integer: false, help: "0 turns it off." },
  repetitionPenalty: {
    label: "Repetition penalty",
    min: 1,
    max: 2,
    step: 0.01,
    integer: false,
    help: "1 turns it off.",
  },
  maxTokens: {
    label: "Max tokens",
    min: 1,
    max: 4096,
    step: 1,
    integer: true,
    help: "Longest reply, in tokens.",
  },
  seed: {
    label: "Seed",
    min: -1,
    max: 4294967295,
    step: 1,
    integer: true,
    help: "-1 picks a new random seed each time.",
  },
};

export const SAMPLING_KEYS = Object.keys(SAMPLING_LIMITS) as (keyof SamplingSettings)[];

/**
 * Checks one value against its limit. Returns the value to use, or an error in words.
 * Accepts strings (form fields, URL parameters) and numbers.
 */
export function checkSetting(
  key: keyof SamplingSettings,
  raw: string | number,
): { value: number } | { error: string } {
  const limit = SAMPLING_LIMITS[key];
  const text = typeof raw === "string" ? raw.trim() : String(raw);
  const value = text === "" ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) return { error: `${limit.label} must be a number.` };
  if (limit.integer && !Number.isInteger(value))
    return { error: `${limit.label} must be a whole number.` };
  if (value < limit.min || value > limit.max)
    return { error: `${limit.label} must be between ${limit.min} and ${limit.max}.` };
  return { value };
}

/** Fills missing or invalid fields from the defaults (old saved data, hand-edited storage). */
export function normalizeSampling(value: unknown): SamplingSettings {
  const out = { ...DEFAULT_SAMPLING };
  if (typeof value !== "object" || value === null) return out;
  const record = value as Record<string, unknown>;
  for (const key of SAMPLING_KEYS) {
    const v = record[key];
    if (typeof v !== "number") continue;
    const checked = checkSetting(key, v);
    if ("value" in checked) out[key] = checked.value;
  }
  return out;
}
