import { describe, expect, it } from "vitest";
import { RateMeter } from "./rate-meter.ts";

describe("RateMeter", () => {
  it("reports bytes per second over the window and the time left at that rate", () => {
    let t = 0;
    const meter = new RateMeter(() => t, 5000);
    expect(meter.rate()).toBe(0);
    expect(meter.etaSeconds(0, 100)).toBeNull();
    for (let s = 0; s <= 10; s++) {
      t = s * 1000;
      // 1000 B/s for the first 5 s, then 3000 B/s.
      meter.sample(s <= 5 ? s * 1000 : 5000 + (s - 5) * 3000);
    }
    // The window now covers only the fast part.
    expect(meter.rate()).toBeCloseTo(3000, 5);
    expect(meter.etaSeconds(20_000, 50_000)).toBeCloseTo(10, 5);
    expect(meter.etaSeconds(20_000, null)).toBeNull();
  });
});
