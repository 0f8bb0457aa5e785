/** Human-readable sizes, rates and durations for the model manager and the stats bar. */

import { formatBytes } from "../../worker/api.ts";

// One byte formatter for the whole app (the model store's messages use it too).
export { formatBytes };

export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return "—";
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "45 s", "3 min 05 s", "1 h 02 min"; unknown for null, negative or infinite. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return "unknown";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min ${String(s % 60).padStart(2, "0")} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** "1.2 GB of 2.4 GB (50%)", or just the bytes when the total is unknown. */
export function formatProgress(bytes: number, total: number | null): string {
  if (total === null || total <= 0) return formatBytes(bytes);
  const percent = Math.min(100, Math.floor((bytes / total) * 100));
  return `${formatBytes(bytes)} of ${formatBytes(total)} (${percent}%)`;
}

export function formatTokensPerSecond(rate: number): string {
  if (!Number.isFinite(rate) || rate <= 0) return "—";
  return `${rate >= 100 ? rate.toFixed(0) : rate.toFixed(1)} tok/s`;
}
