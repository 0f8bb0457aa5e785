import type { MemoryPlan } from "../../worker/api.ts";
import { formatBytes } from "./format.ts";

/** Why a model will not fit, in words, before it is loaded. */
export function memoryWarningText(name: string, plan: MemoryPlan): string {
  return (
    `${name} needs about ${formatBytes(plan.totalBytes)} of memory ` +
    `(${formatBytes(plan.weightsBytes)} of weights, ${formatBytes(plan.kvCacheBytes)} of KV cache, ` +
    `${formatBytes(plan.workingBytes)} to work in), more than the ${formatBytes(plan.limitBytes)} ` +
    "(4 GiB) a WebAssembly engine can address. Loading it will most likely fail."
  );
}

/** The page's memory as the browser reports it, and how it was measured. */
export interface PageMemory {
  bytes: number;
  how: "measured" | "js heap";
}

interface MemoryMeasurement {
  bytes: number;
}
type PerformanceWithMemory = Performance & {
  measureUserAgentSpecificMemory?: () => Promise<MemoryMeasurement>;
  memory?: { usedJSHeapSize: number };
};

/**
 * The page's memory where the browser tells: measureUserAgentSpecificMemory (the whole
 * page with its workers and wasm; cross-origin isolated pages only, and it may wait for a
 * garbage collection), else Chromium's performance.memory (the JavaScript heap only), else null.
 */
export async function measurePageMemory(): Promise<PageMemory | null> {
  const perf = globalThis.performance as PerformanceWithMemory | undefined;
  if (perf?.measureUserAgentSpecificMemory && globalThis.crossOriginIsolated) {
    try {
      return { bytes: (await perf.measureUserAgentSpecificMemory()).bytes, how: "measured" };
    } catch {
      // Refused (e.g. the page lost isolation): fall back to the heap size.
    }
  }
  return quickPageMemory();
}

/** performance.memory alone: answers at once, where Chromium offers it. */
export function quickPageMemory(): PageMemory | null {
  const heap = (globalThis.performance as PerformanceWithMemory | undefined)?.memory;
  return heap ? { bytes: heap.usedJSHeapSize, how: "js heap" } : null;
}
