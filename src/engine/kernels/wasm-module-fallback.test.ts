// A relaxed-SIMD build that passes feature detection but does not compile (WebKit's
// JavaScriptCore answered "invalid extended simd op") must fall back to SIMD128. Node 20
// without --experimental-wasm-relaxed-simd is such an engine for real: detection is told
// "relaxed SIMD: yes" here, and the real compile of the relaxed build fails.
import { describe, expect, it, vi } from "vitest";

vi.mock("wasm-feature-detect", async (importOriginal) => ({
  ...(await importOriginal<typeof import("wasm-feature-detect")>()),
  relaxedSimd: async () => true,
}));

const { instantiateKernels, loadKernelModule, pickBuild } = await import("./wasm-module.ts");
const { readFile } = await import("node:fs/promises");

const relaxedCompiles = await readFile(
  new URL("../../../wasm-kernels/build/kernels-relaxed.wasm", import.meta.url),
)
  .then((bytes) => WebAssembly.compile(bytes))
  .then(
    () => true,
    () => false,
  );

describe.skipIf(relaxedCompiles)("a relaxed build that fails to compile", () => {
  it("is what detection picks, and compiling it really fails here", async () => {
    expect(await pickBuild()).toBe("relaxed-simd");
    await expect(loadKernelModule({ build: "relaxed-simd", shared: false })).rejects.toThrow(
      /cannot compile Trit's relaxed-simd kernels: .+/,
    );
  });

  it.each([false, true])(
    "falls back to SIMD128 (shared memory: %s), which computes",
    async (shared) => {
      const kernels = await loadKernelModule({ shared });
      expect(kernels.build).toBe("simd128");
      // SIMD128 has no relaxed dot-add form (1).
      expect(kernels.forms).not.toContain(1);
      // The fallback really runs: a 4-element add into memory.
      const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared });
      const k = instantiateKernels(kernels.module, memory);
      const f = new Float32Array(memory.buffer, 1024, 8);
      f.set([1, 2, 3, 4, 10, 20, 30, 40]);
      k.add_into(1024, 1024 + 16, 4);
      expect([...f.subarray(0, 4)]).toEqual([11, 22, 33, 44]);
    },
  );
});
