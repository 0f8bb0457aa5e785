/**
 * Picks the next token from the model's logits. The steps run in llama.cpp's default
 * order, each on what the step before left:
 *
 *   1. repetition penalty  over the last REPETITION_WINDOW tokens of `history`, each
 *                          distinct token once: a positive logit is divided by the
 *                          penalty, a negative (or zero) one multiplied (1 = off)
 *   2. greedy              temperature 0: the highest logit, lowest id on ties; done
 *   3. top-k               keep the k highest logits (0 = off); ties go to the lower id
 *   4. top-p               softmax (at temperature 1) over what is left; keep the most
 *                          probable tokens until their sum reaches p (1 = off)
 *   5. min-p               keep tokens whose probability is at least min-p times the
 *                          top one's (0 = off)
 *   6. temperature         softmax of logit / temperature over the survivors
 *   7. draw                one uniform number from the seeded PRNG (see rng.ts)
 *
 * The filters see temperature-1 probabilities, as in llama.cpp, so temperature only
 * reshapes what they let through.
 */
import { createRng } from "./rng.ts";

export interface SamplingSettings {
  /** 0 means greedy. */
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  maxTokens: number;
  seed: number;
}

/** How many recent tokens the repetition penalty looks at (llama.cpp's penalty_last_n). */
export const REPETITION_WINDOW = 64;

/** How far below the top logit top-p looks first (weights e^-8, e^-16, …), then everywhere. */
const PRECUT_DEPTHS = [8, 16, 32, Number.POSITIVE_INFINITY];

export interface Sampler {
  /** The next token id. Does not modify `logits`. */
  sample(logits: Float32Array, history: number[]): number;
}

export interface SamplerOptions {
  /** Tokens of history the repetition penalty covers (default REPETITION_WINDOW). */
  repeatLastN?: number;
}

type Filters = Pick<SamplingSettings, "temperature" | "topK" | "topP" | "minP">;

/** Throws, in words, on settings the sampler cannot honour. */
export function validateSamplingSettings(s: SamplingSettings): void {
  const bad = (what: string) => {
    throw new Error(`Invalid sampling settings: ${what}.`);
  };
  if (!Number.isFinite(s.temperature) || s.temperature < 0) {
    bad(`temperature must be 0 or more, got ${s.temperature}`);
  }
  if (!Number.isInteger(s.topK) || s.topK < 0)
    bad(`top-k must be a whole number ≥ 0, got ${s.topK}`);
  if (!(s.topP >= 0 && s.topP <= 1)) bad(`top-p must be between 0 and 1, got ${s.topP}`);
  if (!(s.minP >= 0 && s.minP <= 1)) bad(`min-p must be between 0 and 1, got ${s.minP}`);
  if (!Number.isFinite(s.repetitionPenalty) || s.repetitionPenalty <= 0) {
    bad(`repetition penalty must be more than 0, got ${s.repetitionPenalty}`);
  }
  if (!Number.isFinite(s.seed)) bad(`seed must be a number, got ${s.seed}`);
}

/** Step 1, in place: llama.cpp's repeat penalty over the last `lastN` tokens of `history`. */
export function applyRepetitionPenalty(
  logits: Float32Array,
  history: readonly number[],
  penalty: number,
  lastN = REPETITION_WINDOW,
): void {
  if (penalty === 1 || lastN <= 0) return;
  const seen = new Set<number>();
  for (let i = Math.max(0, history.length - lastN); i < history.length; i++) {
    const id = history[i];
    if (seen.has(id) || id < 0 || id >= logits.length) continue;
    seen.add(id);
    logits[id] = logits[id] <= 0 ? logits[id] * penalty : logits[id] / penalty;
  }
}

/** Highest logit, lowest id on ties. */
function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 0; i < logits.length; i++) {
    if (Number.isNaN(logits[i])) throw new Error(`The logits hold NaN (token ${i}).`);
    if (logits[i] > logits[best]) best = i;
  }
  return best;
}

/** Ids in order of logit, highest first, lower id first among equals. */
function byLogitDesc(logits: Float32Array): (a: number, b: number) => number {
  return (a, b) => logits[b] - logits[a] || a - b;
}

/** The k best ids, sorted, with a size-k min-heap (O(n log k)). */
function topKIds(logits: Float32Array, k: number): Int32Array {
  const heap = new Int32Array(k);
  // "worse" = lower logit, or equal logit and higher id: the heap root is the worst kept.
  const worse = (a: number, b: number) =>
    logits[a] < logits[b] || (logits[a] === logits[b] && a > b);
  const siftDown = (size: number) => {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(heap[l], heap[m])) m = l;
      if (r < size && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let id = 0; id < k; id++) {
    heap[id] = id;
    for (let i = id; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!worse(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }
  // Later ids lose ties, so only a strictly higher logit displaces the worst kept.
  let bar = logits[heap[0]];
  for (let id = k; id < logits.length; id++) {
    if (logits[id] > bar) {
      heap[0] = id;
      siftDown(k);
      bar = logits[heap[0]];
    }
  }
  return heap.sort(byLogitDesc(logits));
}

/** Ids with logit ≥ cutoff, sorted best first. */
function sortedIdsAbove(logits: Float32Array, cutoff: number): Int32Array {
  let count = 0;
  for (let i = 0; i < logits.length; i++) if (logits[i] >= cutoff) count++;
  const ids = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < logits.length; i++) if (logits[i] >= cutoff) ids[k++] = i;
  return ids.sort(byLogitDesc(logits));
}

/**
 * How many of `ids` (best first) top-p keeps: the shortest prefix whose probabilities
 * (weights e^(logit − max) / z) reach p; undefined if the whole list falls short.
 */
function nucleusLength(
  logits: Float32Array,
  ids: Int32Array,
  max: number,
  z: number,
  p: number,
): number | undefined {
  let cum = 0;
  for (let i = 0; i < ids.length; i++) {
    cum += Math.exp(logits[ids[i]] - max) / z;
    if (cum >= p) return i + 1;
  }
  return undefined;
}

/**
 * Steps 3–6 on already penalised logits (temperature > 0): the surviving ids, best
 * first (or every id in order when nothing filters), and their unnormalised weights.
 */
function survivors(
  logits: Float32Array,
  s: Filters,
): { ids: Int32Array | null; weights: Float64Array; total: number } {
  const n = logits.length;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const l = logits[i];
    if (Number.isNaN(l)) throw new Error(`The logits hold NaN (token ${i}).`);
    if (l > max) max = l;
  }
  if (max === Number.NEGATIVE_INFINITY) throw new Error("Every logit is -Infinity.");

  const useTopK = s.topK > 0 && s.topK < n;
  const useTopP = s.topP < 1;
  // Top-p and min-p each keep a best-first prefix of the same list, so the result is
  // the shorter prefix; min-p's bar (relative to the top token) is known up front.
  const minPBar = s.minP > 0 ? max + Math.log(s.minP) : Number.NEGATIVE_INFINITY;

  let ids: Int32Array | null = null;
  if (useTopK) {
    ids = topKIds(logits, s.topK);
    if (useTopP) {
      let z = 0;
      for (const id of ids) z += Math.exp(logits[id] - max);
      ids = ids.subarray(0, nucleusLength(logits, ids, max, z, s.topP) ?? ids.length);
    }
    let keep = 1;
    while (keep < ids.length && logits[ids[keep]] >= minPBar) keep++;
    ids = ids.subarray(0, keep);
  } else if (useTopP) {
    // Sorting all 128k logits per token is slow: sort those near the top, and reach
    // further down only if their probabilities do not add up to p.
    let z = 0;
    for (let i = 0; i < n; i++) z += Math.exp(logits[i] - max);
    for (const depth of PRECUT_DEPTHS) {
      const bar = Math.max(max - depth, minPBar);
      ids = sortedIdsAbove(logits, bar);
      const keep = nucleusLength(logits, ids, max, z, s.topP);
      if (keep !== undefined) {
        ids = ids.subarray(0, keep);
        break;
      }
      // Not reached p: complete if min-p set the bar (it cuts sooner) or nothing was cut.
      if (bar === minPBar || ids.length === n) break;
    }
  } else if (s.minP > 0) {
    ids = sortedIdsAbove(logits, minPBar);
  }

  const top = ids ? logits[ids[0]] : max;
  const count = ids ? ids.length : n;
  const weights = new Float64Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const w = Math.exp((logits[ids ? ids[i] : i] - top) / s.temperature);
    weights[i] = w;
    total += w;
  }
  return { ids, weights, total };
}

/**
 * The distribution the sampler draws from for these logits and history: ids and
 * probabilities summing to 1 (greedy: the one id with probability 1). For tests and
 * for showing alternatives; the sampler computes the same thing.
 */
export function samplingDistribution(
  logits: Float32Array,
  history: readonly number[],
  settings: SamplingSettings,
  opts: SamplerOptions = {},
): { ids: number[]; probs: number[] } {
  validateSamplingSettings(settings);
  const work = Float32Array.from(logits);
  applyRepetitionPenalty(work, history, settings.repetitionPenalty, opts.repeatLastN);
  if (settings.temperature === 0) return { ids: [argmax(work)], probs: [1] };
  const { ids, weights, total } = survivors(work, settings);
  const out = { ids: [] as number[], probs: [] as number[] };
  for (let i = 0; i < weights.length; i++) {
    out.ids.push(ids ? ids[i] : i);
    out.probs.push(weights[i] / total);
  }
  return out;
}

export function createSampler(settings: SamplingSettings, opts: SamplerOptions = {}): Sampler {
  validateSamplingSettings(settings);
  const rng = createRng(settings.seed);
  const repeatLastN = opts.repeatLastN ?? REPETITION_WINDOW;
  let work = new Float32Array(0);
  return {
    sample(logits, history) {
      if (logits.length === 0) throw new Error("No logits to sample from.");
      if (work.length !== logits.length) work = new Float32Array(logits.length);
      work.set(logits);
      applyRepetitionPenalty(work, history, settings.repetitionPenalty, repeatLastN);
      if (settings.temperature === 0) return argmax(work);
      const { ids, weights, total } = survivors(work, settings);
      let u = rng.next() * total;
      for (let i = 0; i < weights.length; i++) {
        u -= weights[i];
        if (u < 0) return ids ? ids[i] : i;
      }
      // Rounding left u a hair above zero: the last candidate with any weight.
      let last = weights.length - 1;
      while (last > 0 && weights[last] === 0) last--;
      return ids ? ids[last] : last;
    },
  };
}
