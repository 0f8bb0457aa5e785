import { describe, expect, it } from "vitest";
import { detectCapabilities, sharedMemoryFacts, singleThreadReason } from "./capabilities.ts";

describe("detectCapabilities", () => {
  it("agrees with WebAssembly.validate on hand-assembled SIMD modules", async () => {
    const caps = await detectCapabilities();
    // A module whose one function returns `i32.const 0; i8x16.splat` (v128 result).
    const simdModule = new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
      0x03, 0x02, 0x01, 0x00, 0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x62,
      0x0b,
    ]);
    expect(caps.wasmSimd).toBe(WebAssembly.validate(simdModule));
    // Node 20 ships SIMD128 on by default; the engine's baseline build relies on it.
    expect(caps.wasmSimd).toBe(true);
    expect(caps.hardwareThreads).toBeGreaterThanOrEqual(1);
    expect(caps.sharedArrayBuffer).toBe(typeof SharedArrayBuffer === "function");
  });
});

describe("singleThreadReason", () => {
  const all = { crossOriginIsolated: true, hasSharedArrayBuffer: true, wasmThreads: true };

  it("is null when every fact threads need holds", () => {
    expect(singleThreadReason(all)).toBeNull();
  });

  it("names the missing fact, and never says 'not isolated' for an isolated page", () => {
    expect(singleThreadReason({ ...all, crossOriginIsolated: false })).toBe(
      "page not cross-origin isolated",
    );
    // WebKit under require-corp without SharedArrayBuffer (WebKitGTK's default).
    const webkit = singleThreadReason({ ...all, hasSharedArrayBuffer: false });
    expect(webkit).toMatch(/SharedArrayBuffer/);
    expect(webkit).not.toMatch(/isolated/);
    expect(singleThreadReason({ ...all, wasmThreads: false })).toMatch(/WebAssembly threads/);
  });

  it("agrees with this context's own globals", async () => {
    const caps = await detectCapabilities();
    expect(caps.singleThreadReason).toBe(
      singleThreadReason({ ...sharedMemoryFacts(), wasmThreads: caps.wasmThreads }),
    );
    expect(caps.singleThreadReason === null).toBe(caps.sharedArrayBuffer && caps.wasmThreads);
  });
});
