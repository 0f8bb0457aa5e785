// The relaxed-SIMD build in Node: Node 20 validates relaxed SIMD only behind
// --experimental-wasm-relaxed-simd, so this reruns the kernel and model tests in a child
// vitest with that flag and TRIT_KERNEL_BUILD=relaxed-simd. (Chromium runs the relaxed
// build by default: see scripts/bench/browser.)
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

describe("relaxed-SIMD build", () => {
  it("passes the kernel and model tests under --experimental-wasm-relaxed-simd", () => {
    const root = fileURLToPath(new URL("../../..", import.meta.url));
    const child = spawnSync(
      process.execPath,
      [
        "node_modules/vitest/vitest.mjs",
        "run",
        "src/engine/kernels/kernels.test.ts",
        "src/engine/kernels/model.test.ts",
        "src/engine/kernels/attention-jobs.test.ts",
        "--execArgv=--experimental-wasm-relaxed-simd",
      ],
      {
        cwd: root,
        env: { ...process.env, TRIT_KERNEL_BUILD: "relaxed-simd", NO_COLOR: "1" },
        encoding: "utf8",
        timeout: 120_000,
      },
    );
    const output = `${child.stdout}\n${child.stderr}`;
    expect(output, output).toMatch(/Tests\s+\d+ passed/);
    expect(child.status, output).toBe(0);
  }, 150_000);
});
