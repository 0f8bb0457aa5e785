/**
 * How many kernel threads to use, and when to run on one: when other processes hold the
 * cores, one thread can be 2× faster than two (spinning threads wait on a peer the OS has
 * descheduled), so decode steps are timed in both modes and the faster one runs.
 */
import type { KernelPool } from "./pool.ts";

/**
 * Threads to use here: the cores the runtime reports, at most 4 (decode is bound by 128-bit
 * SIMD compute and two cores scale it only 1.6–1.8×, so more threads mostly add spinning
 * and synchronisation; the tuner below falls back to one when that wins) when SharedArrayBuffer is usable
 * (a cross-origin isolated page, a worker of one, or Node), else 1.
 */
export function defaultThreads(): number {
  const isolated =
    globalThis.crossOriginIsolated === true ||
    (typeof process !== "undefined" && typeof process.versions?.node === "string");
  if (!isolated || typeof SharedArrayBuffer !== "function") return 1;
  return Math.max(1, Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1));
}

/**
 * Chooses, step by step, between all of a pool's threads and the calling thread alone.
 * The faster mode runs, and the other is tried for one step in every 64 (from the third
 * step on) to follow the machine's load. (Two in 32 cost 6% of the mean decode speed on
 * an idle machine.)
 */
export class ThreadModeTuner {
  /** The last three decode step times (ms) with all threads [0] and with one [1]. */
  private readonly stepMs: number[][] = [[], []];
  private steps = 0;

  constructor(private readonly pool: KernelPool) {}

  /** Runs one decode step in the mode chosen now, timing it. */
  step(run: () => void): void {
    const preferSolo = this.stepTime(1) < this.stepTime(0);
    const explore = this.steps % 64 === 2;
    const solo = explore ? !preferSolo : preferSolo;
    this.pool.solo = solo;
    const t0 = performance.now();
    run();
    const times = this.stepMs[solo ? 1 : 0];
    times.push(performance.now() - t0);
    if (times.length > 3) times.shift();
    this.steps++;
    this.pool.solo = this.stepTime(1) < this.stepTime(0);
  }

  /** A mode's step time: the median of its last three (one outlier either way is ignored). */
  private stepTime(mode: 0 | 1): number {
    const t = [...this.stepMs[mode]].sort((a, b) => a - b);
    if (t.length === 0) return Number.POSITIVE_INFINITY;
    return t.length === 2 ? (t[0] + t[1]) / 2 : t[(t.length - 1) >> 1];
  }
}
