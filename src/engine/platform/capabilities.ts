import { relaxedSimd, simd, threads } from "wasm-feature-detect";

/** What this JavaScript context can do for the engine; detected where the engine runs. */
export interface Capabilities {
  /** Logical cores the runtime reports (threads the pool could use). */
  hardwareThreads: number;
  /** SharedArrayBuffer exists and can be shared with other workers. */
  sharedArrayBuffer: boolean;
  /** The context is cross-origin isolated (browser); Node is always isolated. */
  crossOriginIsolated: boolean;
  /** WebAssembly threads: shared memory and atomics validate. */
  wasmThreads: boolean;
  /** Fixed-width SIMD128 validates. */
  wasmSimd: boolean;
  /** Relaxed SIMD validates (i32x4.relaxed_dot_i8x16_i7x16_add_s and friends). */
  wasmRelaxedSimd: boolean;
}

export async function detectCapabilities(): Promise<Capabilities> {
  const [wasmSimd, wasmRelaxedSimd, wasmThreads] = await Promise.all([
    simd(),
    relaxedSimd(),
    threads(),
  ]);
  const isolated = globalThis.crossOriginIsolated ?? typeof process !== "undefined";
  return {
    hardwareThreads: globalThis.navigator?.hardwareConcurrency ?? 1,
    sharedArrayBuffer: typeof SharedArrayBuffer === "function" && isolated,
    crossOriginIsolated: isolated,
    wasmThreads,
    wasmSimd,
    wasmRelaxedSimd,
  };
}
