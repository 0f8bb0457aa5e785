import { useEffect, useState } from "react";
import { useChatStore } from "./state/chatStore.ts";
import { useEngineStore } from "./state/engineStore.ts";
import { formatTokensPerSecond } from "./state/format.ts";
import { useModelStore } from "./state/modelStore.ts";

const KERNEL_NAMES: Record<string, string> = {
  "relaxed-simd": "relaxed SIMD",
  simd128: "SIMD128",
  scalar: "scalar (no SIMD)",
};

/** Live numbers while generating: speed, context, kernel build, threads. */
export function StatsBar() {
  const generation = useChatStore((s) => s.generation);
  const lastStats = useChatStore((s) => s.lastStats);
  const loaded = useModelStore((s) => s.loaded);
  const capabilities = useEngineStore((s) => s.capabilities);
  const isolated = typeof window !== "undefined" && window.crossOriginIsolated;

  // Re-render a few times a second while generating so the rate moves between pieces too.
  const [, tick] = useState(0);
  useEffect(() => {
    if (!generation) return;
    const timer = setInterval(() => tick((n) => n + 1), 250);
    return () => clearInterval(timer);
  }, [generation]);

  let speed = "—";
  let tokens = "—";
  if (generation) {
    const { firstPieceAt, pieces } = generation;
    const seconds = firstPieceAt ? (Date.now() - firstPieceAt) / 1000 : 0;
    speed = pieces > 1 && seconds > 0 ? formatTokensPerSecond((pieces - 1) / seconds) : "starting…";
    tokens = `${pieces} generated`;
  } else if (lastStats) {
    speed = formatTokensPerSecond(lastStats.decodeTokensPerSecond);
    const used = lastStats.promptTokens + lastStats.generatedTokens;
    tokens = loaded ? `${used} / ${loaded.contextLength} in context` : `${used} in context`;
  }

  const threads = loaded
    ? String(loaded.threads)
    : capabilities
      ? String(capabilities.sharedArrayBuffer ? capabilities.hardwareThreads : 1)
      : "—";
  // The engine's own words when it knows them, so this agrees with the "This device" facts.
  const singleReason =
    capabilities?.singleThreadReason ?? (isolated ? null : "page not cross-origin isolated");

  return (
    <section className="stats-bar" aria-label="Generation stats">
      <span>
        <span className="muted">Speed </span>
        <span data-testid="stats-speed">{speed}</span>
      </span>
      <span>
        <span className="muted">Tokens </span>
        <span data-testid="stats-tokens">{tokens}</span>
      </span>
      <span>
        <span className="muted">Kernel </span>
        <span data-testid="stats-kernel">
          {loaded ? (KERNEL_NAMES[loaded.kernel] ?? loaded.kernel) : "—"}
        </span>
      </span>
      <span>
        <span className="muted">Threads </span>
        <span data-testid="stats-threads">
          {threads}
          {singleReason ? ` (single-threaded: ${singleReason})` : ""}
        </span>
      </span>
    </section>
  );
}
