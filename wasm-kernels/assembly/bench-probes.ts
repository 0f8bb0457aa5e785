// Benchmark-only probes, built into build/bench-probes[-shared].wasm (never shipped):
// scripts/bench runs them over the engine's own memory with a pool of its own.

/**
 * Memory read bandwidth probe (the benchmark's roofline): reads chunks [chunkBegin,
 * chunkEnd) of 64 KiB from base with v128 loads; the xor of each chunk goes to
 * out + 16 · chunk so that the loads cannot be dropped.
 */
export function stream_read(chunkBegin: i32, chunkEnd: i32, base: usize, out: usize): void {
  for (let c = chunkBegin; c < chunkEnd; c++) {
    const p = base + ((<usize>c) << 16);
    let a0 = i32x4.splat(0);
    let a1 = i32x4.splat(0);
    let a2 = i32x4.splat(0);
    let a3 = i32x4.splat(0);
    for (let i: usize = 0; i < 65536; i += 64) {
      a0 = v128.xor(a0, v128.load(p + i));
      a1 = v128.xor(a1, v128.load(p + i, 16));
      a2 = v128.xor(a2, v128.load(p + i, 32));
      a3 = v128.xor(a3, v128.load(p + i, 48));
    }
    v128.store(out + ((<usize>c) << 4), v128.xor(v128.xor(a0, a1), v128.xor(a2, a3)));
  }
}
