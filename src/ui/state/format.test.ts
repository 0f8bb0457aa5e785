import { describe, expect, it } from "vitest";
import {
  formatBytes,
  formatEta,
  formatProgress,
  formatRate,
  formatTokensPerSecond,
} from "./format.ts";

describe("formatBytes", () => {
  it("uses decimal units with about three significant digits", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1000)).toBe("1.00 kB");
    expect(formatBytes(1_500_000)).toBe("1.50 MB");
    expect(formatBytes(1_190_000_000)).toBe("1.19 GB");
    expect(formatBytes(25_600_000)).toBe("25.6 MB");
    expect(formatBytes(512_000_000)).toBe("512 MB");
    expect(formatBytes(3e15)).toBe("3000 TB");
  });
  it("says when the size is not a usable number", () => {
    expect(formatBytes(Number.NaN)).toBe("unknown size");
    expect(formatBytes(-1)).toBe("unknown size");
  });
});

describe("formatRate / formatEta / formatProgress", () => {
  it("formats a rate per second", () => {
    expect(formatRate(2_500_000)).toBe("2.50 MB/s");
    expect(formatRate(0)).toBe("—");
  });
  it("formats seconds, minutes and hours", () => {
    expect(formatEta(0)).toBe("0 s");
    expect(formatEta(44.6)).toBe("45 s");
    expect(formatEta(185)).toBe("3 min 05 s");
    expect(formatEta(3720)).toBe("1 h 02 min");
    expect(formatEta(null)).toBe("unknown");
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe("unknown");
  });
  it("shows a percentage only when the total is known", () => {
    expect(formatProgress(500_000_000, 1_000_000_000)).toBe("500 MB of 1.00 GB (50%)");
    expect(formatProgress(1_000, null)).toBe("1.00 kB");
    expect(formatProgress(2_000, 1_000)).toBe("2.00 kB of 1.00 kB (100%)");
  });
  it("formats tokens per second", () => {
    expect(formatTokensPerSecond(12.345)).toBe("12.3 tok/s");
    expect(formatTokensPerSecond(150.2)).toBe("150 tok/s");
    expect(formatTokensPerSecond(0)).toBe("—");
  });
});
