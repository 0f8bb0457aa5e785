import { useEngineStore } from "./state/engineStore.ts";

function yesNo(value: boolean | undefined): string {
  return value ? "yes" : "no";
}

/** The model area: which model is loaded, and what the engine can use on this device. */
export function ModelPanel() {
  const { status, capabilities, error } = useEngineStore();
  const isolated = typeof window !== "undefined" && window.crossOriginIsolated;

  return (
    <section className="model-panel" aria-labelledby="model-heading">
      <h2 id="model-heading">Model</h2>
      <p className="muted">No model loaded yet.</p>
      <dl className="facts">
        <dt>Cross-origin isolated</dt>
        <dd data-testid="page-isolated">{yesNo(isolated)}</dd>
        <dt>Engine worker</dt>
        <dd data-testid="engine-status">{status}</dd>
        {capabilities && (
          <>
            <dt>Threads available</dt>
            <dd data-testid="cap-threads">
              {capabilities.sharedArrayBuffer ? capabilities.hardwareThreads : 1}
              {capabilities.sharedArrayBuffer ? "" : " (not isolated: single-threaded)"}
            </dd>
            <dt>SharedArrayBuffer</dt>
            <dd data-testid="cap-sab">{yesNo(capabilities.sharedArrayBuffer)}</dd>
            <dt>Wasm SIMD128</dt>
            <dd data-testid="cap-simd">{yesNo(capabilities.wasmSimd)}</dd>
            <dt>Wasm relaxed SIMD</dt>
            <dd data-testid="cap-relaxed">{yesNo(capabilities.wasmRelaxedSimd)}</dd>
          </>
        )}
      </dl>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </section>
  );
}
