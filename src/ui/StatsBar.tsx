import { useEffect, useState } from "react";
import type { KernelBuild } from "../worker/api.ts";
import { useChatStore } from "./state/chatStore.ts";
import { useEngineStore } from "./state/engineStore.ts";
import { formatBytes, formatTokensPerSecond } from "./state/format.ts";
import { measurePageMemory, type PageMemory, quickPageMemory } from "./state/memory.ts";
import { useModelManagerStore } from "./state/modelManagerStore.ts";

const KERNEL_NAMES: Record<KernelBuild, string> = {
  "relaxed-simd": "relaxed SIMD",
  simd128: "SIMD128",
};

/** The page's memory where the browser tells, asked again every 15 s. */
function usePageMemory(): PageMemory | null {
  const [memory, setMemory] = useState<PageMemory | null>(quickPageMemory);
  useEffect(() => {
    let live = true;
    const measure = () =>
      void measurePageMemory().then((m) => {
        if (live && m) setMemory(m);
      });
    measure();
    const timer = setInterval(measure, 15_000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return memory;
}

/** Live numbers while generating: speed, context, kernel build, threads, memory. */
export function StatsBar() {
  const generation = useChatStore((s) => s.generation);
  const lastStats = useChatStore((s) => s.lastStats);
  const loaded = useModelManagerStore((s) => s.loaded);
  const capabilities = useEngineStore((s) => s.capabilities);
  const isolated = typeof window !== "undefined" && window.crossOriginIsolated;
  const page = usePageMemory();

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
        <span data-testid="stats-kernel">{loaded ? KERNEL_NAMES[loaded.kernel] : "—"}</span>
      </span>
      <span>
        <span className="muted">Threads </span>
        <span data-testid="stats-threads">
          {threads}
          {singleReason ? ` (single-threaded: ${singleReason})` : ""}
        </span>
      </span>
      <span>
        <span className="muted">Engine memory </span>
        <span data-testid="stats-memory">
          {loaded
            ? `${formatBytes(loaded.memory.wasmBytes)} wasm, of which KV cache ${formatBytes(loaded.memory.kvCacheBytes)}`
            : "—"}
        </span>
      </span>
      {page && (
        <span>
          <span className="muted">Page memory </span>
          <span
            data-testid="stats-page-memory"
            title={
              page.how === "measured"
                ? "The whole page with its workers, as the browser measured it"
                : "The JavaScript heap only (the browser does not report more here)"
            }
          >
            {formatBytes(page.bytes)}
            {page.how === "js heap" ? " (JS heap)" : ""}
          </span>
        </span>
      )}
    </section>
  );
}
