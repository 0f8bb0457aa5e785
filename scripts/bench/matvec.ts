// Micro-benchmark of the ternary matvec kernel on one 2560×6912-shaped matrix (the FFN
// down projection; 4.4 MB packed), one thread: GB/s of packed weight bytes streamed.
// Run: npx tsx scripts/bench/matvec.ts [simd128|relaxed-simd]
// (relaxed needs: node --experimental-wasm-relaxed-simd --import tsx scripts/bench/matvec.ts relaxed-simd)
import { Arena, createMemory } from "../../src/engine/kernels/arena.ts";
import { packedStride, paddedCols } from "../../src/engine/kernels/pack.ts";
import {
  instantiateKernels,
  type KernelBuild,
  LANE_FORM,
  laneInputBytes,
  loadKernelModule,
} from "../../src/engine/kernels/wasm-module.ts";

const build = (process.argv[2] ?? "simd128") as KernelBuild;
const rows = Number(process.argv[3] ?? 2560);
const cols = Number(process.argv[4] ?? 6912);
const mod = await loadKernelModule({ build, shared: false });
const memory = createMemory(false);
const arena = new Arena(memory);
const k = instantiateKernels(mod.module, memory);
// several copies so the working set exceeds the caches (the decode streams from DRAM)
const copies = 16;
const stride = packedStride(cols);
const bytes = rows * stride;
const mats: number[] = [];
for (let i = 0; i < copies; i++) {
  const p = arena.alloc(bytes);
  const v = arena.u8(p, bytes);
  for (let j = 0; j < bytes; j++) v[j] = ((j * 2654435761) >>> 24) & 0xaa;
  mats.push(p);
}
const x = arena.alloc(paddedCols(cols));
arena.i8(x, cols).forEach((_, i, a) => {
  a[i] = ((i * 37) % 255) - 127;
});
// the lane form reads its own activations (the weights' bytes time alike in either layout)
let xs = x;
if (mod.decodeForm === LANE_FORM) {
  xs = arena.alloc(laneInputBytes(paddedCols(cols)));
  k.ternary_lane_inputs(x, paddedCols(cols) / 128, xs);
}
const out = arena.alloc(rows * 4);
const runs: number[] = [];
for (let rep = 0; rep < 9; rep++) {
  const t0 = performance.now();
  const iters = 20;
  for (let it = 0; it < iters; it++) {
    for (const m of mats) k.ternary_dots(0, rows, m, stride, xs, 0, out, mod.decodeForm);
  }
  const s = (performance.now() - t0) / 1000;
  runs.push((iters * copies * bytes) / s / 1e9);
}
runs.sort((a, b) => a - b);
const median = runs[Math.floor(runs.length / 2)];
console.log(
  `${build} ${rows}×${cols}: median ${median.toFixed(2)} GB/s of packed weights (${((median * 4) / 1).toFixed(1)} G weights/s); runs ${runs.map((r) => r.toFixed(1)).join(" ")}`,
);
