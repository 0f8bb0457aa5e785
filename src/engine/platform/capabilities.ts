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
  /** Why the engine runs on one thread here, in words; null when threads can run. */
  singleThreadReason: string | null;
}

/**
 * Why kernel threads cannot run, in words the UI and the engine's errors share (null when
 * they can). Isolation and SharedArrayBuffer are separate facts: WebKit can isolate a page
 * and still give it no SharedArrayBuffer, and saying "not isolated" beside "isolated: yes"
 * contradicts the page.
 */
export function singleThreadReason(facts: {
  crossOriginIsolated: boolean;
  hasSharedArrayBuffer: boolean;
  wasmThreads: boolean;
}): string | null {
  if (!facts.crossOriginIsolated) return "page not cross-origin isolated";
  if (!facts.hasSharedArrayBuffer) return "this browser gives the page no SharedArrayBuffer";
  if (!facts.wasmThreads) return "this browser has no WebAssembly threads";
  return null;
}

/** This context's isolation and SharedArrayBuffer (Node counts as isolated). */
export function sharedMemoryFacts(): {
  crossOriginIsolated: boolean;
  hasSharedArrayBuffer: boolean;
} {
  return {
    crossOriginIsolated: globalThis.crossOriginIsolated ?? typeof process !== "undefined",
    hasSharedArrayBuffer: typeof SharedArrayBuffer === "function",
  };
}

export async function detectCapabilities(): Promise<Capabilities> {
  const [wasmSimd, wasmRelaxedSimd, wasmThreads] = await Promise.all([
    simd(),
    relaxedSimd(),
    threads(),
  ]);
  const facts = sharedMemoryFacts();
  return {
    hardwareThreads: globalThis.navigator?.hardwareConcurrency ?? 1,
    sharedArrayBuffer: facts.hasSharedArrayBuffer && facts.crossOriginIsolated,
    crossOriginIsolated: facts.crossOriginIsolated,
    wasmThreads,
    wasmSimd,
    wasmRelaxedSimd,
    singleThreadReason: singleThreadReason({ ...facts, wasmThreads }),
  };
}
