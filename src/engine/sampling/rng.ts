/**
 * Seeded PRNG for sampling: xoshiro128** (Blackman & Vigna), its 128-bit state filled
 * from the 32-bit seed by splitmix32. Same seed, same sequence, on every JS engine.
 */
export interface Rng {
  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number;
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

/** The raw generator from an explicit state: each call returns the next uint32. */
export function xoshiro128StarStar(a: number, b: number, c: number, d: number): () => number {
  let [s0, s1, s2, s3] = [a | 0, b | 0, c | 0, d | 0];
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state would repeat forever
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
}

/** A generator seeded from any number (taken as uint32: -1 and 4294967295 are the same seed). */
export function createRng(seed: number): Rng {
  let z = seed >>> 0;
  const splitmix32 = () => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
    return (t ^ (t >>> 16)) >>> 0;
  };
  const raw = xoshiro128StarStar(splitmix32(), splitmix32(), splitmix32(), splitmix32());
  return { next: () => raw() / 4294967296 };
}
