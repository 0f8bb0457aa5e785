// Runs one benchmark in this Worker: downloads the model, then runTrit (same code as Node).
import { checkBuild } from "../../../test-support/conformance.ts";
import { compareBuilds } from "../compare-builds.ts";
import { benchKernels, benchTernaryForms } from "../kernels.ts";
import { runTrit } from "../run-trit.ts";

// Where a run waits, for the driver to print when it takes long: the engine's latest
// performance mark ("trit:load …"), every few seconds while this thread is free to say it.
function heartbeat(): () => void {
  const say = () => {
    const marks = performance.getEntriesByType("mark");
    self.postMessage({ stage: marks.at(-1)?.name ?? "worker started" });
  };
  say();
  const timer = setInterval(say, 5000);
  return () => clearInterval(timer);
}

self.onmessage = async (e: MessageEvent) => {
  const p = e.data;
  const stopHeartbeat = heartbeat();
  try {
    if (p.check) {
      const threads = globalThis.crossOriginIsolated ? [1, 2] : [1];
      const check: Record<string, string[]> = {};
      for (const build of ["simd128", "relaxed-simd"] as const) {
        check[build] = await checkBuild(build, threads);
      }
      self.postMessage({ check, threads, crossOriginIsolated: globalThis.crossOriginIsolated });
      return;
    }
    if (p.forms) {
      self.postMessage({ forms: await benchTernaryForms() });
      return;
    }
    if (p.kernels) {
      self.postMessage({ kernels: await benchKernels(["simd128", "relaxed-simd"]) });
      return;
    }
    if (p.threads > 1 && !globalThis.crossOriginIsolated) {
      throw new Error("The benchmark page is not cross-origin isolated: no threads.");
    }
    const response = await fetch(p.modelUrl);
    if (!response.ok) throw new Error(`model download failed: ${response.status}`);
    const blob = await response.blob();
    const result = p.compare ? await compareBuilds(blob, p) : await runTrit(blob, p);
    self.postMessage({ ...result, crossOriginIsolated: globalThis.crossOriginIsolated });
  } catch (error) {
    self.postMessage({ error: String(error) });
  } finally {
    stopHeartbeat();
  }
};
