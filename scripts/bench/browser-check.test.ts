// Both kernel builds in Chromium (which runs relaxed SIMD natively): the conformance
// checks of test-support/conformance.ts in a cross-origin isolated page's Worker,
// on one thread and on two (shared memory, nested Workers).
import { describe, expect, it } from "vitest";
import { hasChromium, runBenchPage } from "./browser-page.ts";

describe.skipIf(!hasChromium())("kernels in Chromium", () => {
  it("both builds match the reference on 1 and 2 threads", async () => {
    const result = await runBenchPage("check", undefined, 120_000);
    expect(result.error).toBeUndefined();
    expect(result.crossOriginIsolated).toBe(true);
    expect(result.threads).toEqual([1, 2]);
    expect(result.check).toEqual({ simd128: [], "relaxed-simd": [] });
  }, 180_000);
});
