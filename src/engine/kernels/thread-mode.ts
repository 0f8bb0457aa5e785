/**
 * How many kernel threads to start, and how many of them take part: the count the runtime
 * reports is not the count that runs fastest, so decode steps are timed (ThreadTuner).
 */

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
 * Picks how many of the pool's threads take part, from timed decode steps: the count the
 * runtime reports is not the count that runs fastest (WebKit reports 4 cores on a 2-core
 * machine, where 4 spinning threads decode at half the speed of 2; on a machine whose cores
 * other processes hold, one thread can beat two). Each count 1..max is timed; the fastest
 * runs, and the others are tried again now and then to follow the machine's load.
 */
/** Counts this close to the fastest (ratio of step times) count as fast. */
const NEAR = 1.1;

export class ThreadTuner {
  /** The last three step times (ms) of each thread count (index = count). */
  private readonly stepMs: number[][];
  private steps = 0;
  private explored = 0;

  constructor(
    readonly max: number,
    /** One exploring step in this many (one in 64 cost ~1.5% of decode speed). */
    private readonly exploreEvery = 64,
  ) {
    this.stepMs = Array.from({ length: max + 1 }, () => []);
  }

  /** A count's step time: the median of its last three (one outlier either way is ignored). */
  private time(count: number): number {
    const t = [...this.stepMs[count]].sort((a, b) => a - b);
    if (t.length === 0) return Number.POSITIVE_INFINITY;
    return t.length === 2 ? (t[0] + t[1]) / 2 : t[(t.length - 1) >> 1];
  }

  /**
   * The fewest threads within 10% of the fastest count measured so far (the most threads
   * while none is measured): on a shared machine timing noise must not tip the choice to
   * more threads than help, which is where oversubscription costs most.
   */
  get best(): number {
    let fastest = Number.POSITIVE_INFINITY;
    for (let n = 1; n <= this.max; n++) fastest = Math.min(fastest, this.time(n));
    if (fastest === Number.POSITIVE_INFINITY) return this.max;
    for (let n = 1; n < this.max; n++) if (this.time(n) <= fastest * NEAR) return n;
    return this.max;
  }

  /** The count the next step should run with: untried counts first, then the best. */
  next(): number {
    for (let n = this.max; n >= 1; n--) if (this.stepMs[n].length === 0) return n;
    if (this.steps % this.exploreEvery !== this.exploreEvery - 1) return this.best;
    const best = this.best;
    const others = Array.from({ length: this.max }, (_, i) => i + 1).filter((n) => n !== best);
    return others.length ? others[this.explored++ % others.length] : best;
  }

  /** Records a step's time (ms) with `count` threads. */
  record(count: number, ms: number): void {
    const times = this.stepMs[count];
    times.push(ms);
    if (times.length > 3) times.shift();
    this.steps++;
  }
}
