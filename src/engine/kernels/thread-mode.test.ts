import { describe, expect, it } from "vitest";
import { ThreadTuner } from "./thread-mode.ts";

/** Runs `steps` decode steps whose time per thread count is `ms(count, step)`; returns the counts used. */
function drive(tuner: ThreadTuner, steps: number, ms: (count: number, step: number) => number) {
  const used: number[] = [];
  for (let s = 0; s < steps; s++) {
    const n = tuner.next();
    used.push(n);
    tuner.record(n, ms(n, s));
  }
  return used;
}

describe("ThreadTuner", () => {
  it("on WebKit's 4 reported cores of a 2-core machine, settles on 2 threads", () => {
    // Step times measured there (2B4T-shaped model): 2 threads 100 ms, 4 threads 189 ms.
    const times: Record<number, number> = { 1: 250, 2: 100, 3: 160, 4: 189 };
    const tuner = new ThreadTuner(4);
    const used = drive(tuner, 256, (n) => times[n]);
    expect(tuner.best).toBe(2);
    // Every count is tried once, then 2 runs all but the rare exploring steps.
    expect(new Set(used.slice(0, 4))).toEqual(new Set([1, 2, 3, 4]));
    expect(used.slice(4).filter((n) => n !== 2).length).toBeLessThanOrEqual(256 / 64);
  });

  it("follows the machine's load: two threads until other processes take a core", () => {
    const tuner = new ThreadTuner(2);
    const busyFrom = 200;
    const used = drive(tuner, 600, (n, s) =>
      s < busyFrom ? (n === 2 ? 50 : 90) : n === 2 ? 180 : 90,
    );
    expect(used.slice(10, busyFrom).filter((n) => n === 2).length).toBeGreaterThan(180);
    expect(tuner.best).toBe(1);
    // Within a few exploring rounds of the change it runs one thread.
    expect(used.slice(busyFrom + 4 * 64).every((n, i, a) => n === 1 || a[i - 1] === 1)).toBe(true);
  });

  it("in a near-tie (timing noise) takes the fewer threads", () => {
    const tuner = new ThreadTuner(4);
    drive(tuner, 12, (n) => ({ 1: 100, 2: 60, 3: 58, 4: 57 })[n] ?? 0);
    expect(tuner.best).toBe(2);
  });

  it("ignores one slow outlier step", () => {
    const tuner = new ThreadTuner(2);
    drive(tuner, 8, (n) => (n === 2 ? 50 : 90));
    tuner.record(2, 5000);
    expect(tuner.best).toBe(2);
  });

  it("with one thread there is nothing to choose", () => {
    const tuner = new ThreadTuner(1);
    expect(drive(tuner, 100, () => 10).every((n) => n === 1)).toBe(true);
  });
});
